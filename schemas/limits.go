package schemas

// Limits of an event. DecodeEvent refuses an event past any of them with
// the reason named here, and the event schema states each one it can
// express. Lengths count characters (Unicode code points), as JSON
// Schema's maxLength does.
const (
	// MaxImageBytes is the largest image accepted (Clarifai's per-image
	// limit); image_too_large.
	MaxImageBytes = 20 << 20

	// MaxIDLength bounds the event id (invalid_id): ids are keys and
	// appear in every result, log line and dead letter.
	MaxIDLength = 256

	// MaxURLLength bounds image.url (invalid_url): signed URLs with
	// session tokens run to about 2,000 characters, and many servers and
	// proxies refuse request lines much longer than 4 KiB to 8 KiB.
	MaxURLLength = 4096

	// MaxModelFieldLength bounds each field of a model (invalid_model):
	// Clarifai's ids are far shorter, and model ids name result subjects.
	MaxModelFieldLength = 256

	// MaxModels bounds models (invalid_model): each model is its own
	// predict call, result and dead letter for the one message, and a
	// real pipeline asks a handful of questions of an image.
	MaxModels = 8

	// MaxSelectConcepts bounds select_concepts (invalid_output_config):
	// the list is sent in every predict call of the event's group, and
	// selecting more than a few hundred concepts is better done by a
	// min_value or by the model's own concept list.
	MaxSelectConcepts = 200

	// MaxConceptLength bounds a selected concept's id or name
	// (invalid_output_config), like the other Clarifai ids.
	MaxConceptLength = 256

	// MaxBucketLength bounds image.object.bucket (invalid_object_ref):
	// the bucket's stream is OBJ_<bucket>, and NATS allows stream names
	// of at most 255 characters.
	MaxBucketLength = 255 - len("OBJ_")

	// MaxObjectNameLength bounds image.object.name (invalid_object_ref):
	// NATS puts the name base64-encoded in a subject, which must fit the
	// default 4 KiB protocol line even when every character takes four
	// bytes.
	MaxObjectNameLength = 512

	// MaxMetadataBytes bounds metadata as written in the message
	// (invalid_metadata): it is copied into the result of every model
	// the event asks for, and results must stay well under NATS's
	// max_payload (1 MiB by default) beside embeddings and masks.
	MaxMetadataBytes = 16 << 10

	// MaxMetadataDepth bounds how deeply metadata nests objects and
	// arrays, counting metadata itself as 1 (invalid_metadata): consumers
	// parse it recursively, and tags or structured fields need a few
	// levels.
	MaxMetadataDepth = 16
)

// maxBase64Len is the standard base64 length of MaxImageBytes bytes: longer
// strings are rejected before they are decoded.
const maxBase64Len = (MaxImageBytes + 2) / 3 * 4
