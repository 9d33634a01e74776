package schemas

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// wireEvent is an Event as it arrives. Pointers tell a given field from
// an absent or null one; numbers are float64 so that 1.0 counts as the
// integer 1, as in JSON Schema.
type wireEvent struct {
	SchemaVersion *float64          `json:"schema_version"`
	ID            string            `json:"id"`
	Image         *wireImage        `json:"image"`
	Model         *Model            `json:"model"`
	Models        []*wireModelSpec  `json:"models"`
	OutputConfig  *wireOutputConfig `json:"output_config"`
	Metadata      jsontext.Value    `json:"metadata"`
}

type wireImage struct {
	URL    *string    `json:"url"`
	Base64 *string    `json:"base64"`
	Object *ObjectRef `json:"object"`
}

type wireModelSpec struct {
	ID           string            `json:"id"`
	VersionID    string            `json:"version_id"`
	UserID       string            `json:"user_id"`
	AppID        string            `json:"app_id"`
	OutputConfig *wireOutputConfig `json:"output_config"`
}

type wireOutputConfig struct {
	MaxConcepts    *float64     `json:"max_concepts"`
	MinValue       *float64     `json:"min_value"`
	SelectConcepts []ConceptRef `json:"select_concepts"`
}

// DecodeEvent parses and checks one event message. It is the worker's hot
// path, so it checks by hand what the event schema says instead of running
// the JSON Schema validator; the tests hold the two to the same verdicts.
// It also applies the rules the schema cannot express: the message must
// be I-JSON (RFC 7493: UTF-8 without lone surrogates, no duplicate member
// names), and metadata is bounded in size and depth. Member names match
// exactly. It fills Image.Bytes from Image.Base64. On bad input the error
// is an *InvalidEventError.
func DecodeEvent(data []byte) (Event, error) {
	if !isObject(data) {
		return Event{}, &InvalidEventError{Reason: ReasonInvalidJSON, Description: "the message is not a JSON object"}
	}
	var w wireEvent
	if err := jsonv2.Unmarshal(data, &w); err != nil {
		return Event{}, decodeError(data, err)
	}
	ev, reason, desc := w.event()
	if reason != "" {
		return Event{}, &InvalidEventError{Reason: reason, Description: desc, EventID: validID(w.ID)}
	}
	return ev, nil
}

// decodeError explains why data did not unmarshal. A value of the wrong
// type, or a string that is not UTF-8, gets the reason of the field it is
// in; anything else that makes the message no I-JSON is invalid_json.
func decodeError(data []byte, err error) *InvalidEventError {
	var se *jsonv2.SemanticError
	if errors.As(err, &se) {
		// The unmarshal stopped at the first wrong type, so the rest of
		// the message still has to be checked before the id is trusted.
		var whole jsontext.Value
		serr := jsonv2.Unmarshal(data, &whole)
		if serr == nil {
			// Read the id on its own, as the first error may precede it.
			var idOnly struct {
				ID string `json:"id"`
			}
			_ = jsonv2.Unmarshal(data, &idOnly)
			return &InvalidEventError{Reason: reasonAt(se.JSONPointer), Description: describe(se), EventID: validID(idOnly.ID)}
		}
		err = serr
	}
	reason := ReasonInvalidJSON
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) && !errors.Is(err, jsontext.ErrDuplicateName) &&
		jsontext.Value(data).IsValid(jsontext.AllowInvalidUTF8(true)) {
		reason = reasonAt(syn.JSONPointer) // well-formed but for a string that is not UTF-8
	}
	return &InvalidEventError{Reason: reason, Description: clipText(err.Error())}
}

// describe words a type error in the message's own terms.
func describe(se *jsonv2.SemanticError) string {
	at := fieldPath(se.JSONPointer)
	if se.Err != nil || se.GoType == nil {
		return clipText(fmt.Sprintf("%s: %v", at, se.Err))
	}
	return fmt.Sprintf("%s must be %s, not %s", at, goKind(se.GoType), jsonKind(se.JSONKind))
}

// fieldPath writes a JSON pointer as the field names of descriptions,
// such as models[0].id.
func fieldPath(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if _, err := strconv.Atoi(tok); err == nil {
			fmt.Fprintf(&b, "[%s]", tok)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	if b.Len() == 0 {
		return "the message"
	}
	return b.String()
}

// goKind names the JSON type that decodes into t.
func goKind(t reflect.Type) string {
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

func jsonKind(k jsontext.Kind) string {
	switch k {
	case '"':
		return "a string"
	case '0':
		return "a number"
	case 't', 'f':
		return "a boolean"
	case '[':
		return "an array"
	case '{':
		return "an object"
	}
	return "null"
}

// reasonAt names the reason for a bad value at the JSON pointer p.
func reasonAt(p jsontext.Pointer) string {
	top, rest, _ := strings.Cut(strings.TrimPrefix(string(p), "/"), "/")
	switch top {
	case "id":
		return ReasonInvalidID
	case "schema_version":
		return ReasonUnsupportedSchemaVersion
	case "model":
		return ReasonInvalidModel
	case "models":
		if _, in, _ := strings.Cut(rest, "/"); strings.HasPrefix(in, "output_config") {
			return ReasonInvalidOutputConfig
		}
		return ReasonInvalidModel
	case "output_config":
		return ReasonInvalidOutputConfig
	case "metadata":
		return ReasonInvalidMetadata
	case "image":
		field, _, _ := strings.Cut(rest, "/")
		switch field {
		case "url":
			return ReasonInvalidURL
		case "base64":
			return ReasonInvalidBase64
		case "object":
			return ReasonInvalidObjectRef
		}
	}
	return ReasonInvalidJSON
}

// event checks w and converts it, or returns the reason it is invalid.
func (w *wireEvent) event() (ev Event, reason, desc string) {
	if v := w.SchemaVersion; v != nil && *v != Version {
		return ev, ReasonUnsupportedSchemaVersion, fmt.Sprintf("schema_version %v is not %d", *v, Version)
	}
	if w.ID == "" {
		return ev, ReasonMissingID, "id is missing or empty"
	}
	if p := textProblem(w.ID, MaxIDLength); p != "" {
		return ev, ReasonInvalidID, "id " + p
	}
	img, reason, desc := w.Image.image()
	if reason != "" {
		return ev, reason, desc
	}
	models, reason, desc := w.models()
	if reason != "" {
		return ev, reason, desc
	}
	oc, p := w.OutputConfig.outputConfig()
	if p != "" {
		return ev, ReasonInvalidOutputConfig, "output_config." + p
	}
	meta, desc := checkMetadata(w.Metadata)
	if desc != "" {
		return ev, ReasonInvalidMetadata, desc
	}
	ev = Event{ID: w.ID, Image: img, Model: w.Model, Models: models, OutputConfig: oc, Metadata: meta}
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
	for _, given := range [...]bool{w.URL != nil, w.Base64 != nil, w.Object != nil} {
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
	if p := lengthProblem(s, MaxURLLength); p != "" {
		return "url " + p
	}
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
	if len(o.Bucket) > MaxBucketLength {
		return fmt.Sprintf("object bucket has more than %d characters", MaxBucketLength)
	}
	if !BucketName(o.Bucket) {
		return fmt.Sprintf("object bucket %s has characters other than letters, digits, '_' and '-'", clip(o.Bucket))
	}
	if p := textProblem(o.Name, MaxObjectNameLength); p != "" {
		return "object name " + p
	}
	return ""
}

// models checks model and models together, and converts models.
func (w *wireEvent) models() (specs []ModelSpec, reason, desc string) {
	if w.Model != nil {
		if w.Models != nil {
			return nil, ReasonInvalidModel, "model and models are both given"
		}
		if field, p := modelProblem(w.Model); p != "" {
			return nil, ReasonInvalidModel, fmt.Sprintf("model.%s %s", field, p)
		}
		return nil, "", ""
	}
	if w.Models == nil {
		return nil, "", ""
	}
	switch {
	case len(w.Models) == 0:
		return nil, ReasonInvalidModel, "models is empty"
	case len(w.Models) > MaxModels:
		return nil, ReasonInvalidModel, fmt.Sprintf("models has %d entries, more than %d", len(w.Models), MaxModels)
	case w.OutputConfig != nil:
		return nil, ReasonInvalidOutputConfig, "output_config is given beside models; give it in each entry of models"
	}
	specs = make([]ModelSpec, len(w.Models))
	for i, m := range w.Models {
		if m == nil {
			return nil, ReasonInvalidModel, fmt.Sprintf("models[%d] is null", i)
		}
		if field, p := modelProblem(&Model{ID: m.ID, VersionID: m.VersionID, UserID: m.UserID, AppID: m.AppID}); p != "" {
			return nil, ReasonInvalidModel, fmt.Sprintf("models[%d].%s %s", i, field, p)
		}
		oc, p := m.OutputConfig.outputConfig()
		if p != "" {
			return nil, ReasonInvalidOutputConfig, fmt.Sprintf("models[%d].output_config.%s", i, p)
		}
		specs[i] = ModelSpec{ID: m.ID, VersionID: m.VersionID, UserID: m.UserID, AppID: m.AppID, OutputConfig: oc}
		for j := range i {
			if sameSpec(&specs[j], &specs[i]) {
				return nil, ReasonInvalidModel, fmt.Sprintf("models[%d] repeats models[%d]", i, j)
			}
		}
	}
	return specs, "", ""
}

// modelProblem names the field of m that is wrong and says why, or
// returns "". Empty fields are allowed: they fall back to the worker's
// configuration.
func modelProblem(m *Model) (field, problem string) {
	for _, f := range [...]struct{ name, val string }{
		{"id", m.ID}, {"version_id", m.VersionID}, {"user_id", m.UserID}, {"app_id", m.AppID},
	} {
		if p := textProblem(f.val, MaxModelFieldLength); p != "" {
			return f.name, p
		}
	}
	return "", ""
}

// sameSpec reports whether a and b ask for the same model with the same
// output config, an absent output config being the same as an empty one.
func sameSpec(a, b *ModelSpec) bool {
	if a.ID != b.ID || a.VersionID != b.VersionID || a.UserID != b.UserID || a.AppID != b.AppID {
		return false
	}
	var none OutputConfig
	ac, bc := a.OutputConfig, b.OutputConfig
	if ac == nil {
		ac = &none
	}
	if bc == nil {
		bc = &none
	}
	return ac.MaxConcepts == bc.MaxConcepts && ac.MinValue == bc.MinValue &&
		slices.Equal(ac.SelectConcepts, bc.SelectConcepts)
}

// outputConfig checks and converts an output config, or says what is
// wrong with it, starting with the field's name.
func (w *wireOutputConfig) outputConfig() (oc *OutputConfig, problem string) {
	if w == nil {
		return nil, ""
	}
	oc = &OutputConfig{SelectConcepts: w.SelectConcepts}
	if v := w.MaxConcepts; v != nil {
		if *v < 0 || *v > math.MaxUint32 || *v != math.Trunc(*v) {
			return nil, fmt.Sprintf("max_concepts %v is not an integer in [0, %d]", *v, uint32(math.MaxUint32))
		}
		oc.MaxConcepts = uint32(*v)
	}
	if v := w.MinValue; v != nil {
		if *v < 0 || *v > 1 {
			return nil, fmt.Sprintf("min_value %v is not in [0, 1]", *v)
		}
		oc.MinValue = float32(*v)
	}
	if n := len(w.SelectConcepts); n > MaxSelectConcepts {
		return nil, fmt.Sprintf("select_concepts has %d entries, more than %d", n, MaxSelectConcepts)
	}
	for i, c := range w.SelectConcepts {
		p := "is empty or null"
		if text := cmp.Or(c.ID, c.Name); text != "" {
			p = textProblem(text, MaxConceptLength)
		}
		if p != "" {
			return nil, fmt.Sprintf("select_concepts[%d] %s", i, p)
		}
	}
	return oc, ""
}

// checkMetadata returns metadata as the event carries it (nil when
// absent or null), or describes why it is refused.
func checkMetadata(v jsontext.Value) (json.RawMessage, string) {
	if len(v) == 0 || string(v) == "null" {
		return nil, ""
	}
	switch {
	case v[0] != '{':
		return nil, "metadata must be a JSON object"
	case len(v) > MaxMetadataBytes:
		return nil, fmt.Sprintf("metadata has %d bytes, more than %d", len(v), MaxMetadataBytes)
	case depth(v) > MaxMetadataDepth:
		return nil, fmt.Sprintf("metadata nests more than %d levels deep", MaxMetadataDepth)
	}
	return json.RawMessage(v), ""
}

// depth returns how deeply objects and arrays nest in the valid JSON
// value v.
func depth(v []byte) int {
	d, deepest, inString := 0, 0, false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if inString {
			switch c {
			case '\\':
				i++ // step over the escaped character (a \u escape's hex digits hold no quote or bracket)
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			d++
			deepest = max(deepest, d)
		case '}', ']':
			d--
		}
	}
	return deepest
}

// textProblem says what is wrong with the text s, or returns "": at
// most limit characters, none of them a control character (C0, DEL, C1)
// or a line or paragraph separator (U+2028, U+2029), which would break
// the lines, tables and headers the value ends up in. Strings are valid
// UTF-8 here: the JSON reader refuses any that is not.
func textProblem(s string, limit int) string {
	if p := lengthProblem(s, limit); p != "" {
		return p
	}
	for i, r := range s {
		if r < 0x20 || 0x7f <= r && r <= 0x9f || r == '\u2028' || r == '\u2029' {
			return fmt.Sprintf("has the control or line separator character %U at byte %d", r, i)
		}
	}
	return ""
}

// lengthProblem describes s if it has more than limit characters.
func lengthProblem(s string, limit int) string {
	if len(s) > limit && utf8.RuneCountInString(s) > limit {
		return fmt.Sprintf("has more than %d characters", limit)
	}
	return ""
}

// isObject reports whether data starts like a JSON object; a valid null
// would otherwise decode into an empty event.
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
	if id == "" || textProblem(id, MaxIDLength) != "" {
		return ""
	}
	return id
}

// clip quotes untrusted text for an error description, shortened.
func clip(s string) string {
	const limit = 80
	if len(s) > limit {
		return fmt.Sprintf("%q...", s[:limit])
	}
	return fmt.Sprintf("%q", s)
}

// clipText shortens an error message that may quote untrusted input.
func clipText(s string) string {
	const limit = 200
	if len(s) > limit {
		return strings.ToValidUTF8(s[:limit], "") + "..."
	}
	return s
}

// BucketName reports whether s is a name JetStream takes for an Object
// Store or KV bucket: letters, digits, '_' and '-', at least one.
func BucketName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
