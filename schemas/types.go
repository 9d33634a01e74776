package schemas

import (
	"encoding/json"
	"time"
)

// Version is the schema_version written into results and dead letters,
// and the highest one accepted in events.
const Version = 1

// Event asks for predictions of one image by one model (Model and
// OutputConfig) or by several (Models). Upload services publish it on
// the input stream.
type Event struct {
	SchemaVersion int             `json:"schema_version,omitempty"`
	ID            string          `json:"id"`
	Image         Image           `json:"image"`
	Model         *Model          `json:"model,omitempty"`
	Models        []ModelSpec     `json:"models,omitempty"`
	OutputConfig  *OutputConfig   `json:"output_config,omitempty"`
	Metadata      json.RawMessage `json:"metadata,omitempty"`
}

// ModelSpec is one model an event asks for, with its own output config.
type ModelSpec struct {
	ID           string        `json:"id,omitempty"`
	VersionID    string        `json:"version_id,omitempty"`
	UserID       string        `json:"user_id,omitempty"`
	AppID        string        `json:"app_id,omitempty"`
	OutputConfig *OutputConfig `json:"output_config,omitempty"`
}

// Asks returns the models the event asks for, in order: Models, or else
// one spec made of Model (zero fields when nil, meaning the worker's
// default model) and OutputConfig.
func (e *Event) Asks() []ModelSpec {
	if len(e.Models) > 0 {
		return e.Models
	}
	s := ModelSpec{OutputConfig: e.OutputConfig}
	if m := e.Model; m != nil {
		s.ID, s.VersionID, s.UserID, s.AppID = m.ID, m.VersionID, m.UserID, m.AppID
	}
	return []ModelSpec{s}
}

// Image holds exactly one of URL, Base64 and Object.
type Image struct {
	URL    string     `json:"url,omitempty"`
	Base64 string     `json:"base64,omitempty"`
	Object *ObjectRef `json:"object,omitempty"`

	// Bytes is Base64 decoded by DecodeEvent; never serialised.
	Bytes []byte `json:"-"`
}

// ObjectRef names an entry of a NATS JetStream Object Store.
type ObjectRef struct {
	Bucket string `json:"bucket"`
	Name   string `json:"name"`
}

// Model names a Clarifai model. In events every field is optional and
// falls back to the worker's configuration; in results all are filled
// (version_id may be empty when the server did not say).
type Model struct {
	ID        string `json:"id,omitempty"`
	VersionID string `json:"version_id,omitempty"`
	UserID    string `json:"user_id,omitempty"`
	AppID     string `json:"app_id,omitempty"`
}

// OutputConfig overrides the model's output settings for one event.
type OutputConfig struct {
	MaxConcepts    uint32       `json:"max_concepts,omitempty"`
	MinValue       float32      `json:"min_value,omitempty"`
	SelectConcepts []ConceptRef `json:"select_concepts,omitempty"`
}

// ConceptRef selects a concept by exactly one of its id and its name. In
// JSON it is a string (an id) or an object {"id": ...} or {"name": ...}.
type ConceptRef struct {
	ID   string
	Name string
}

// Result is the prediction for one event, published on the results subject.
type Result struct {
	SchemaVersion int             `json:"schema_version"`
	EventID       string          `json:"event_id"`
	Model         Model           `json:"model"`
	Status        Status          `json:"status"`
	Output        *OutputInfo     `json:"output,omitempty"`
	Concepts      []Concept       `json:"concepts"`
	Regions       []Region        `json:"regions"`
	Embeddings    []Embedding     `json:"embeddings,omitempty"`
	Colors        []Color         `json:"colors,omitempty"`
	Image         *ImageInfo      `json:"image,omitempty"`
	Cached        bool            `json:"cached,omitempty"`
	Metadata      json.RawMessage `json:"metadata,omitempty"`
	Source        Source          `json:"source"`
	PredictedAt   time.Time       `json:"predicted_at"`
}

// OutputInfo is Clarifai's record of the output.
type OutputInfo struct {
	ID        string    `json:"id,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
}

// Embedding is a vector from an embedding model.
type Embedding struct {
	Vector        []float32 `json:"vector"`
	NumDimensions uint32    `json:"num_dimensions"`
}

// Color is one colour found in the image, with its share of the image.
type Color struct {
	RawHex string    `json:"raw_hex"`
	W3C    *W3CColor `json:"w3c,omitempty"`
	Value  float32   `json:"value"`
}

// W3CColor is the named W3C colour nearest to a Color.
type W3CColor struct {
	Hex  string `json:"hex"`
	Name string `json:"name"`
}

// ImageInfo describes the image as it was sent for prediction, which is
// what regions are relative to.
type ImageInfo struct {
	Width  int `json:"width"`
	Height int `json:"height"`
	// Orientation is the EXIF orientation (2-8) that was corrected
	// before sending; 0 when none was.
	Orientation int `json:"orientation,omitempty"`
	// Original is the size before the image was scaled down; nil when
	// it was not.
	Original *Size `json:"original,omitempty"`
}

// Size is an image's width and height in pixels.
type Size struct {
	Width  int `json:"width"`
	Height int `json:"height"`
}

// Status is Clarifai's status of the prediction.
type Status struct {
	Code        uint32 `json:"code"`
	Description string `json:"description"`
	ReqID       string `json:"req_id,omitempty"`
}

// Concept is a label with its score in [0, 1].
type Concept struct {
	ID    string  `json:"id"`
	Name  string  `json:"name,omitempty"`
	Value float32 `json:"value"`
}

// BoundingBox is normalised to [0, 1] of the image height (rows) and width (cols).
type BoundingBox struct {
	TopRow    float32 `json:"top_row"`
	LeftCol   float32 `json:"left_col"`
	BottomRow float32 `json:"bottom_row"`
	RightCol  float32 `json:"right_col"`
}

// Region is a detected or segmented part of the image.
type Region struct {
	ID          string       `json:"id,omitempty"`
	Value       float32      `json:"value,omitempty"`
	BoundingBox *BoundingBox `json:"bounding_box,omitempty"`
	Mask        *Mask        `json:"mask,omitempty"`
	Polygon     []Point      `json:"polygon,omitempty"`
	Point       *Point       `json:"point,omitempty"`
	Keypoints   []Point      `json:"keypoints,omitempty"`
	TrackID     string       `json:"track_id,omitempty"`
	Concepts    []Concept    `json:"concepts,omitempty"`
}

// Point is normalised like BoundingBox: Row is a fraction of the image
// height from the top, Col of the width from the left.
type Point struct {
	Row float32 `json:"row"`
	Col float32 `json:"col"`
	Z   float32 `json:"z,omitempty"` // depth, when the model gives one
	// Visibility is "visible", "not_visible" (occluded) or
	// "not_present"; empty when the model did not say.
	Visibility string `json:"visibility,omitempty"`
}

// Mask is a segmentation mask: inline PNG bytes (base64 in JSON), or a
// reference to an Object Store entry when it is too large to inline.
type Mask struct {
	PNG    []byte     `json:"png,omitempty"`
	Object *ObjectRef `json:"object,omitempty"`
}

// Source says which input message a result or dead letter answers.
type Source struct {
	Stream     string `json:"stream"`
	Sequence   uint64 `json:"sequence"`
	Subject    string `json:"subject"`
	Deliveries uint64 `json:"deliveries"`
}

// DeadLetter records an input message that will never get a result.
type DeadLetter struct {
	SchemaVersion int    `json:"schema_version"`
	EventID       string `json:"event_id,omitempty"`
	// Model is the model whose prediction failed, for an event that
	// asks for several; nil otherwise.
	Model    *Model    `json:"model,omitempty"`
	Error    ErrorInfo `json:"error"`
	Attempts uint64    `json:"attempts"`
	// Original is the message bytes, untouched (base64 in JSON); nil
	// when they were too large to inline and OriginalObject holds them.
	Original []byte `json:"original,omitzero"`
	// OriginalObject names the Object Store entry that holds the
	// untouched message bytes when Original could not.
	OriginalObject *ObjectRef `json:"original_object,omitempty"`
	Source         Source     `json:"source"`
	FailedAt       time.Time  `json:"failed_at"`
}

// ErrorInfo says why a message was dead-lettered.
type ErrorInfo struct {
	Reason      string `json:"reason"`
	Code        uint32 `json:"code"`
	Description string `json:"description"`
}
