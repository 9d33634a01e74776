package predictor

import (
	"errors"
	"fmt"
	"time"
)

// MaxInputsPerCall is Clarifai's limit of inputs in one PostModelOutputs call.
const MaxInputsPerCall = 128

// Model names the model that inputs are sent to.
type Model struct {
	UserID    string
	AppID     string
	ID        string
	VersionID string // empty means the latest version
}

// OutputConfig overrides the model's output settings for one call.
// The zero value keeps the model's defaults.
type OutputConfig struct {
	// MaxConcepts caps the concepts returned; 0 keeps the model's default
	// (20 on Clarifai). Clarifai's wire facts state no upper limit, so
	// none is checked.
	MaxConcepts uint32
	// MinValue drops concepts scoring below it; 0 keeps them all.
	MinValue float32
	// SelectConcepts keeps only these concepts; empty keeps them all.
	SelectConcepts []ConceptRef
}

// ConceptRef picks a concept by its id or by its name; set one of them.
type ConceptRef struct {
	ID   string
	Name string
}

// Matches reports whether c is the concept r picks.
func (r ConceptRef) Matches(c Concept) bool {
	return r.ID != "" && r.ID == c.ID || r.Name != "" && r.Name == c.Name
}

// Input is one image to predict. ID must be unique within a Request:
// outputs are matched back to inputs by it. Exactly one of URL and Bytes is set.
type Input struct {
	ID    string
	URL   string
	Bytes []byte
}

// Request is a group of inputs that share a model and output config.
// It may hold more inputs than one call takes; the predictor splits it.
type Request struct {
	Model        Model
	OutputConfig OutputConfig
	Inputs       []Input
}

// Status is Clarifai's status of one output.
type Status struct {
	Code        uint32
	Description string
	ReqID       string
}

// Concept is a label with its score.
type Concept struct {
	ID    string
	Name  string
	Value float32
}

// BoundingBox is normalised to [0, 1] of the image's height (rows) and width (cols).
type BoundingBox struct {
	TopRow    float32
	LeftCol   float32
	BottomRow float32
	RightCol  float32
}

// The visibilities of a Point (Clarifai's Point.Visibility); a Point
// whose model says nothing about it has "".
const (
	VisibilityVisible    = "visible"
	VisibilityNotVisible = "not_visible" // there but occluded
	VisibilityNotPresent = "not_present" // not in the image
)

// Point is a location normalised like BoundingBox: Row of the image's
// height, Col of its width; Z is depth when the model gives one.
type Point struct {
	Row, Col, Z float32
	Visibility  string
}

// Region is a detected or segmented part of the image.
type Region struct {
	ID        string
	Value     float32
	Box       *BoundingBox // nil when the model gave none
	Mask      []byte       // encoded mask image (PNG), nil when none
	Polygon   []Point      // outline, vertices in order
	Point     *Point       // a landmark, nil when none
	Keypoints []Point      // ordered like the concept's keypoint names
	TrackID   string       // ties regions across frames
	Concepts  []Concept
}

// Embedding is a vector an embedding model computed for the input.
type Embedding struct {
	Vector        []float32
	NumDimensions uint32
}

// Color is one colour a colour model found in the image.
type Color struct {
	RawHex  string // the colour found, "#rrggbb"
	W3CHex  string // the nearest named W3C colour
	W3CName string
	Value   float32 // its share of the image
}

// Prediction is what the model said about one input.
type Prediction struct {
	Model      Model // the model and version that actually ran
	Status     Status
	OutputID   string    // Clarifai's id of this output
	CreatedAt  time.Time // when Clarifai made it; zero when not said
	Concepts   []Concept
	Regions    []Region
	Embeddings []Embedding
	Colors     []Color
}

// Outcome is the fate of one input: exactly one of Prediction and Err is set.
// Err is an *Error when the failure was classified, or ctx's error.
type Outcome struct {
	InputID    string
	Prediction *Prediction
	Err        error
}

// Class says what a failure means for the caller.
type Class int

// The classes of the classification table (classify.go).
const (
	// Transient: the whole call failed for a passing reason; retry it.
	Transient Class = iota + 1
	// Permanent: the whole call can never succeed (bad model, bad key, ...).
	Permanent
	// PermanentInput: this one input can never succeed.
	PermanentInput
	// TransientInput: this one input failed for a passing reason.
	TransientInput
	// Account: the account cannot call now — bad or revoked PAT, missing
	// scope, quota or billing — nothing about this input; hold everything
	// and probe. It is not transient: retrying at once only spends calls.
	Account
)

func (c Class) String() string {
	switch c {
	case Transient:
		return "transient"
	case Permanent:
		return "permanent"
	case PermanentInput:
		return "permanent_input"
	case TransientInput:
		return "transient_input"
	case Account:
		return "account"
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Error is a classified prediction failure.
type Error struct {
	Class       Class
	Code        uint32 // Clarifai status code, 0 for transport errors
	Reason      string // stable machine-readable word, e.g. model_not_found
	Description string // for humans; never holds credentials
	ReqID       string
	Err         error // underlying error, if any
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s (%s", e.Reason, e.Class)
	if e.Code != 0 {
		msg += fmt.Sprintf(", code %d", e.Code)
	}
	msg += ")"
	if e.Description != "" {
		msg += ": " + e.Description
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// IsTransient reports whether err may go away if the input is tried again
// later. Context errors count as transient: the input was not judged.
// Account failures are not: they pass only when someone fixes the account.
func IsTransient(err error) bool {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Class == Transient || pe.Class == TransientInput
	}
	return err != nil
}

// IsAccount reports whether err says the account cannot call at all, so
// that the caller should hold its work and probe instead of failing it.
func IsAccount(err error) bool {
	var pe *Error
	return errors.As(err, &pe) && pe.Class == Account
}
