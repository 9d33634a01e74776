package schemas

import "fmt"

// Reasons DecodeEvent gives for rejecting an event. They are stable: the
// worker writes them into dead letters (error.reason) and metric labels.
const (
	// ReasonInvalidJSON: not JSON, not an object, or image not an object.
	ReasonInvalidJSON = "invalid_json"
	// ReasonMissingID: id absent, null or empty.
	ReasonMissingID = "missing_id"
	// ReasonInvalidID: id not a string, or longer than MaxIDLength characters.
	ReasonInvalidID = "invalid_id"
	// ReasonMissingImage: image absent or null, or none of its sources given.
	ReasonMissingImage = "missing_image"
	// ReasonMultipleImages: more than one of url, base64 and object given.
	ReasonMultipleImages = "multiple_images"
	// ReasonInvalidURL: url not a string, unparsable, not http(s), or without a host.
	ReasonInvalidURL = "invalid_url"
	// ReasonInvalidBase64: base64 not a string, empty, or not standard base64.
	ReasonInvalidBase64 = "invalid_base64"
	// ReasonImageTooLarge: the image has more than MaxImageBytes bytes.
	ReasonImageTooLarge = "image_too_large"
	// ReasonInvalidObjectRef: object not an object, or bucket or name empty or malformed.
	ReasonInvalidObjectRef = "invalid_object_ref"
	// ReasonInvalidModel: model not an object, or a field of it not a string.
	ReasonInvalidModel = "invalid_model"
	// ReasonInvalidOutputConfig: output_config not an object, or a field out of range.
	ReasonInvalidOutputConfig = "invalid_output_config"
	// ReasonInvalidMetadata: metadata present and not a JSON object.
	ReasonInvalidMetadata = "invalid_metadata"
	// ReasonUnsupportedSchemaVersion: schema_version given and not Version.
	ReasonUnsupportedSchemaVersion = "unsupported_schema_version"
)

// InvalidEventReasons lists every reason DecodeEvent can give, for
// example to initialise metric labels.
func InvalidEventReasons() []string {
	return []string{
		ReasonInvalidJSON, ReasonMissingID, ReasonInvalidID, ReasonMissingImage,
		ReasonMultipleImages, ReasonInvalidURL, ReasonInvalidBase64, ReasonImageTooLarge,
		ReasonInvalidObjectRef, ReasonInvalidModel, ReasonInvalidOutputConfig,
		ReasonInvalidMetadata, ReasonUnsupportedSchemaVersion,
	}
}

// InvalidEventError says why DecodeEvent rejected a message. Retrying
// cannot help: the message belongs in a dead letter.
type InvalidEventError struct {
	Reason      string // one of the Reason constants
	Description string // for humans; the wording may change
	EventID     string // the event's id when it was readable and valid, else empty
}

func (e *InvalidEventError) Error() string {
	if e.EventID == "" {
		return fmt.Sprintf("invalid event: %s: %s", e.Reason, e.Description)
	}
	return fmt.Sprintf("invalid event %q: %s: %s", e.EventID, e.Reason, e.Description)
}
