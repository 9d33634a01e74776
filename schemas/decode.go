package schemas

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"reflect"
	"strings"
	"unicode/utf8"
)

// MaxIDLength is the most characters (Unicode code points) an event id may have.
const MaxIDLength = 256

// maxBase64Len is the standard base64 length of MaxImageBytes bytes: longer
// strings are rejected before they are decoded.
const maxBase64Len = (MaxImageBytes + 2) / 3 * 4

// wireEvent is an Event as it arrives. Pointers tell a given field from
// an absent or null one; numbers are float64 so that 1.0 counts as the
// integer 1, as in JSON Schema.
type wireEvent struct {
	SchemaVersion *float64          `json:"schema_version"`
	ID            string            `json:"id"`
	Image         *wireImage        `json:"image"`
	Model         *Model            `json:"model"`
	OutputConfig  *wireOutputConfig `json:"output_config"`
	Metadata      json.RawMessage   `json:"metadata"`
}

type wireImage struct {
	URL    *string    `json:"url"`
	Base64 *string    `json:"base64"`
	Object *ObjectRef `json:"object"`
}

type wireOutputConfig struct {
	MaxConcepts    *float64 `json:"max_concepts"`
	MinValue       *float64 `json:"min_value"`
	SelectConcepts []string `json:"select_concepts"`
}

// DecodeEvent parses and checks one event message. It is the worker's hot
// path, so it checks by hand what the event schema says instead of running
// the JSON Schema validator; the tests hold the two to the same verdicts.
// It fills Image.Bytes from Image.Base64. On bad input the error is an
// *InvalidEventError.
func DecodeEvent(data []byte) (Event, error) {
	if !isObject(data) {
		return Event{}, &InvalidEventError{Reason: ReasonInvalidJSON, Description: "the message is not a JSON object"}
	}
	var w wireEvent
	if err := json.Unmarshal(data, &w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Event{}, &InvalidEventError{
				Reason:      typeErrorReason(te.Field),
				Description: fmt.Sprintf("%s must be %s, not %s", te.Field, jsonKind(te.Type), te.Value),
				EventID:     validID(w.ID),
			}
		}
		return Event{}, &InvalidEventError{Reason: ReasonInvalidJSON, Description: err.Error()}
	}
	ev, reason, desc := w.event()
	if reason != "" {
		return Event{}, &InvalidEventError{Reason: reason, Description: desc, EventID: validID(w.ID)}
	}
	return ev, nil
}

// event checks w and converts it, or returns the reason it is invalid.
func (w *wireEvent) event() (ev Event, reason, desc string) {
	if v := w.SchemaVersion; v != nil && *v != Version {
		return ev, ReasonUnsupportedSchemaVersion, fmt.Sprintf("schema_version %v is not %d", *v, Version)
	}
	switch {
	case w.ID == "":
		return ev, ReasonMissingID, "id is missing or empty"
	case validID(w.ID) == "":
		return ev, ReasonInvalidID, fmt.Sprintf("id has more than %d characters", MaxIDLength)
	}
	img, reason, desc := w.Image.image()
	if reason != "" {
		return ev, reason, desc
	}
	oc, reason, desc := w.OutputConfig.outputConfig()
	if reason != "" {
		return ev, reason, desc
	}
	meta := w.Metadata
	if string(meta) == "null" {
		meta = nil
	}
	if meta != nil && meta[0] != '{' {
		return ev, ReasonInvalidMetadata, "metadata must be a JSON object"
	}
	ev = Event{ID: w.ID, Image: img, Model: w.Model, OutputConfig: oc, Metadata: meta}
	if w.SchemaVersion != nil {
		ev.SchemaVersion = Version
	}
	return ev, "", ""
}

func (w *wireImage) image() (img Image, reason, desc string) {
	if w == nil {
		return img, ReasonMissingImage, "image is missing"
	}
	n := 0
	for _, given := range []bool{w.URL != nil, w.Base64 != nil, w.Object != nil} {
		if given {
			n++
		}
	}
	switch {
	case n == 0:
		return img, ReasonMissingImage, "image has none of url, base64 and object"
	case n > 1:
		return img, ReasonMultipleImages, "image has more than one of url, base64 and object"
	case w.URL != nil:
		if desc := checkURL(*w.URL); desc != "" {
			return img, ReasonInvalidURL, desc
		}
		img.URL = *w.URL
	case w.Base64 != nil:
		b, reason, desc := decodeBase64(*w.Base64)
		if reason != "" {
			return img, reason, desc
		}
		img.Base64, img.Bytes = *w.Base64, b
	default:
		if desc := checkObjectRef(w.Object); desc != "" {
			return img, ReasonInvalidObjectRef, desc
		}
		img.Object = w.Object
	}
	return img, "", ""
}

// checkURL describes what is wrong with an image URL, or returns "".
// It accepts what the schema's format "uri" and pattern accept.
func checkURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Sprintf("url %s does not parse", clip(s))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Sprintf("url %s is not http or https", clip(s))
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Sprintf("url %s has no host", clip(s))
	}
	if strings.Contains(host, ":") && net.ParseIP(host) == nil {
		return fmt.Sprintf("url %s has an invalid IPv6 host", clip(s))
	}
	return ""
}

// decodeBase64 decodes standard base64 without line breaks (which the
// Go decoder would skip), refusing to decode what is certainly too large.
func decodeBase64(s string) (b []byte, reason, desc string) {
	if len(s) > maxBase64Len {
		return nil, ReasonImageTooLarge, fmt.Sprintf("base64 has %d characters, so more than %d bytes", len(s), MaxImageBytes)
	}
	if s == "" || strings.ContainsAny(s, "\r\n") {
		return nil, ReasonInvalidBase64, "base64 is empty or has line breaks"
	}
	b = make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(b, []byte(s))
	if err != nil {
		return nil, ReasonInvalidBase64, fmt.Sprintf("base64: %v", err)
	}
	if n > MaxImageBytes {
		return nil, ReasonImageTooLarge, fmt.Sprintf("image has %d bytes, more than %d", n, MaxImageBytes)
	}
	return b[:n], "", ""
}

func checkObjectRef(o *ObjectRef) string {
	if o.Name == "" {
		return "object name is empty"
	}
	if o.Bucket == "" {
		return "object bucket is empty"
	}
	for _, c := range []byte(o.Bucket) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return fmt.Sprintf("object bucket %s has characters other than letters, digits, '_' and '-'", clip(o.Bucket))
		}
	}
	return ""
}

func (w *wireOutputConfig) outputConfig() (oc *OutputConfig, reason, desc string) {
	if w == nil {
		return nil, "", ""
	}
	oc = &OutputConfig{SelectConcepts: w.SelectConcepts}
	if v := w.MaxConcepts; v != nil {
		if *v < 0 || *v > math.MaxUint32 || *v != math.Trunc(*v) {
			return nil, ReasonInvalidOutputConfig, fmt.Sprintf("max_concepts %v is not an integer in [0, %d]", *v, uint32(math.MaxUint32))
		}
		oc.MaxConcepts = uint32(*v)
	}
	if v := w.MinValue; v != nil {
		if *v < 0 || *v > 1 {
			return nil, ReasonInvalidOutputConfig, fmt.Sprintf("min_value %v is not in [0, 1]", *v)
		}
		oc.MinValue = float32(*v)
	}
	for _, c := range w.SelectConcepts {
		if c == "" {
			return nil, ReasonInvalidOutputConfig, "select_concepts has an empty or null concept id"
		}
	}
	return oc, "", ""
}

// typeErrorReason names the reason for a JSON value of the wrong type
// at the dotted path field.
func typeErrorReason(field string) string {
	top, _, _ := strings.Cut(field, ".")
	switch top {
	case "id":
		return ReasonInvalidID
	case "schema_version":
		return ReasonUnsupportedSchemaVersion
	case "model":
		return ReasonInvalidModel
	case "output_config":
		return ReasonInvalidOutputConfig
	}
	switch {
	case field == "image.url":
		return ReasonInvalidURL
	case field == "image.base64":
		return ReasonInvalidBase64
	case strings.HasPrefix(field, "image.object"):
		return ReasonInvalidObjectRef
	}
	return ReasonInvalidJSON
}

// jsonKind names the JSON type that decodes into t.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "an array"
	default:
		return "an object"
	}
}

// isObject reports whether data starts like a JSON object; a valid null,
// array or scalar would otherwise decode into an empty event.
func isObject(data []byte) bool {
	for _, c := range data {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c == '{'
	}
	return false
}

// validID returns id if it is a valid event id, else "".
func validID(id string) string {
	if len(id) > MaxIDLength && utf8.RuneCountInString(id) > MaxIDLength {
		return ""
	}
	return id
}

// clip shortens untrusted text quoted in error descriptions.
func clip(s string) string {
	const limit = 80
	if len(s) > limit {
		return fmt.Sprintf("%q...", s[:limit])
	}
	return fmt.Sprintf("%q", s)
}
