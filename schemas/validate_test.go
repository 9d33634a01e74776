package schemas

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// corpusEvent is one event of the corpus: a file of testdata/events
// (valid/*.json, invalid/<reason>/*.json or beyond-schema/<reason>/*.json),
// or one of hostileEvents.
type corpusEvent struct {
	name, reason string // reason is "" for valid events
	// beyondSchema marks an event that breaks only a rule JSON Schema
	// cannot express, so the schema accepts it and DecodeEvent does not.
	beyondSchema bool
	data         []byte
}

func loadCorpus(tb testing.TB) []corpusEvent {
	tb.Helper()
	var out []corpusEvent
	for _, pattern := range []string{"valid/*.json", "invalid/*/*.json", "beyond-schema/*/*.json"} {
		files, err := filepath.Glob(filepath.Join("testdata", "events", filepath.FromSlash(pattern)))
		require.NoError(tb, err)
		for _, f := range files {
			data, err := os.ReadFile(f)
			require.NoError(tb, err)
			rel, err := filepath.Rel(filepath.Join("testdata", "events"), f)
			require.NoError(tb, err)
			parts := strings.Split(filepath.ToSlash(rel), "/")
			ev := corpusEvent{name: filepath.ToSlash(rel), data: data}
			if parts[0] != "valid" {
				ev.reason, ev.beyondSchema = parts[1], parts[0] == "beyond-schema"
			}
			out = append(out, ev)
		}
	}
	require.Greater(tb, len(out), 150)
	return append(out, hostileEvents()...)
}

// hostileEvents are the corpus events too large to keep as files: those
// of issue 17 and nesting past the JSON readers' depth limits.
func hostileEvents() []corpusEvent {
	const head = `{"id":"e1","image":{"url":"http://example.com/a"}`
	many := make([]string, 50000)
	for i := range many {
		many[i] = fmt.Sprintf("%q", fmt.Sprintf("ai_%05d", i))
	}
	return []corpusEvent{
		{name: "hostile/50000-select-concepts", reason: ReasonInvalidOutputConfig,
			data: []byte(head + `,"output_config":{"select_concepts":[` + strings.Join(many, ",") + `]}}`)},
		{name: "hostile/900-kb-metadata", reason: ReasonInvalidMetadata, beyondSchema: true,
			data: []byte(head + `,"metadata":{"blob":"` + strings.Repeat("x", 900_000) + `"}}`)},
		{name: "hostile/metadata-nested-100000-deep", reason: ReasonInvalidJSON,
			data: []byte(head + `,"metadata":{"a":` + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + `}}`)},
		{name: "hostile/unknown-field-nested-100000-deep", reason: ReasonInvalidJSON,
			data: []byte(head + `,"trace":` + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + `}`)},
	}
}

// TestDecodeEventAgreesWithSchema holds the hand-written checks of
// DecodeEvent to the event schema: same verdict on every corpus event,
// and the reason named by the file's folder. Events beyond the schema
// must pass the schema, so that each shows one rule only DecodeEvent
// applies (the schema's description lists those rules).
func TestDecodeEventAgreesWithSchema(t *testing.T) {
	// Size limits are not run here: schema validation of a 20 MiB image
	// takes seconds. TestSchemaDocuments ties the schema's maxLength to
	// maxBase64Len instead.
	cases := loadCorpus(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev, decodeErr := DecodeEvent(c.data)
			schemaErr := ValidateEvent(c.data)
			if c.reason == "" {
				require.NoError(t, decodeErr)
				require.NoError(t, schemaErr)
				checkEventInvariants(t, ev)
				return
			}
			var inv *InvalidEventError
			require.ErrorAs(t, decodeErr, &inv)
			require.Equal(t, c.reason, inv.Reason, inv.Description)
			require.Less(t, len(inv.Error()), 600, "descriptions must not echo huge input")
			if c.beyondSchema {
				require.NoError(t, schemaErr)
			} else {
				require.Error(t, schemaErr)
			}
		})
	}
}

// TestKnownDisagreements pins the documented cases where DecodeEvent
// and the event schema differ, so that a change to either is noticed.
func TestKnownDisagreements(t *testing.T) {
	t.Run("image one byte too large, unpadded", func(t *testing.T) {
		// The schema's maxLength is the padded length of MaxImageBytes
		// bytes; an unpadded string of that length holds one byte more.
		// TestDecodeEventRejects shows DecodeEvent refuses that byte.
		require.Equal(t, MaxImageBytes+1, base64.StdEncoding.DecodedLen(maxBase64Len))
		require.Equal(t, base64.StdEncoding.EncodedLen(MaxImageBytes), maxBase64Len)
	})
}

func TestExamplesValidate(t *testing.T) {
	validators := map[string]func([]byte) error{
		"event-url.json":          ValidateEvent,
		"event-base64.json":       ValidateEvent,
		"event-object.json":       ValidateEvent,
		"event-models.json":       ValidateEvent,
		"result.json":             ValidateResult,
		"result-every-field.json": ValidateResult,
		"deadletter.json":         ValidateDeadLetter,
	}
	files, err := filepath.Glob(filepath.Join("examples", "*.json"))
	require.NoError(t, err)
	require.Len(t, files, len(validators), "every example needs a validator here")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			validate := validators[filepath.Base(f)]
			require.NotNil(t, validate)
			require.NoError(t, validate(data))
			if strings.HasPrefix(filepath.Base(f), "event-") {
				_, err := DecodeEvent(data)
				require.NoError(t, err)
			}
			if strings.HasPrefix(filepath.Base(f), "result") {
				// Every field of the example is a field of Result.
				var r Result
				require.NoError(t, json.Unmarshal(data, &r))
				again, err := r.MarshalJSON()
				require.NoError(t, err)
				require.Equal(t, decodeAny(t, data), decodeAny(t, again))
			}
		})
	}
}

var (
	testPNG   = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	testTime  = time.Date(2026, 11, 22, 19, 42, 7, 123456789, time.UTC)
	testSrc   = Source{Stream: "IMAGES", Sequence: 1042, Subject: "images.uploaded", Deliveries: 2}
	testModel = Model{ID: "general-image-detection", VersionID: "v1", UserID: "clarifai", AppID: "main"}
)

func fullResult() Result {
	concepts := []Concept{{ID: "ai_1", Name: "train", Value: 0.99}, {ID: "ai_2", Name: "rail", Value: 0.5}}
	return Result{
		SchemaVersion: Version,
		EventID:       "e1",
		Model:         testModel,
		Status:        Status{Code: 10000, Description: "Ok", ReqID: "req-1"},
		Concepts:      concepts,
		Regions: []Region{
			{ID: "r1", Value: 0.9, BoundingBox: &BoundingBox{TopRow: 0.1, LeftCol: 0.2, BottomRow: 0.8, RightCol: 1}, Mask: &Mask{PNG: testPNG}, Concepts: concepts},
			{ID: "r2", Value: 0.7, BoundingBox: &BoundingBox{BottomRow: 1, RightCol: 1}, Mask: &Mask{Object: &ObjectRef{Bucket: "masks", Name: "e1/r2.png"}}, Concepts: concepts[:1]},
		},
		Metadata:    json.RawMessage(`{"tenant":"acme"}`),
		Source:      testSrc,
		PredictedAt: testTime,
	}
}

// everyFieldResult has every result field, including those only some
// models fill.
func everyFieldResult() Result {
	r := fullResult()
	r.Output = &OutputInfo{ID: "out-1", CreatedAt: testTime.Add(-time.Second)}
	r.Embeddings = []Embedding{{Vector: []float32{0.25, -1.5, 3}, NumDimensions: 3}}
	r.Colors = []Color{
		{RawHex: "#f0ead6", W3C: &W3CColor{Hex: "#f5f5dc", Name: "Beige"}, Value: 0.6},
		{RawHex: "#1d2f4e", Value: 0.4},
	}
	r.Image = &ImageInfo{Width: 768, Height: 1024, Orientation: 6, Original: &Size{Width: 3024, Height: 4032}}
	r.Cached = true
	r.Regions[0].Polygon = []Point{{Row: 0.1, Col: 0.2}, {Row: 0.8, Col: 0.2}, {Row: 0.8, Col: 1}}
	r.Regions[0].TrackID = "track-7"
	r.Regions[1].Point = &Point{Row: 0.5, Col: 0.5}
	r.Regions[1].Keypoints = []Point{{Row: 0.2, Col: 0.3, Z: 0.1, Visibility: "visible"}, {Row: 0, Col: 0, Visibility: "not_present"}}
	return r
}

func fullDeadLetter() DeadLetter {
	return DeadLetter{
		SchemaVersion: Version,
		EventID:       "e1",
		Error:         ErrorInfo{Reason: "model_not_found", Code: 21200, Description: "model does not exist"},
		Attempts:      3,
		Original:      []byte(`{"id":"e1","image":{"url":"http://x.example/a"}}`),
		Source:        testSrc,
		FailedAt:      testTime,
	}
}

func TestResultMarshalsToSchema(t *testing.T) {
	tests := []struct {
		name   string
		result func() Result
	}{
		{"every field", everyFieldResult},
		{"classic fields", fullResult},
		{"zero values and nil slices", func() Result {
			return Result{EventID: "e1", Model: Model{ID: "m", UserID: "u", AppID: "a"}, Source: testSrc, PredictedAt: testTime}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.result()
			data, err := json.Marshal(r)
			require.NoError(t, err)
			require.NoError(t, ValidateResult(data), string(data))

			var back Result
			require.NoError(t, json.Unmarshal(data, &back))
			require.Equal(t, Version, back.SchemaVersion)
			if r.Concepts != nil {
				require.Equal(t, r, back)
			}
		})
	}
}

func TestDeadLetterMarshalsToSchema(t *testing.T) {
	stored := fullDeadLetter()
	stored.Original, stored.OriginalObject = nil, &ObjectRef{Bucket: "deadletters", Name: "IMAGES.1042"}
	tests := []struct {
		name         string
		letter       DeadLetter
		wantOriginal string // as written in JSON; "-" for absent
	}{
		{"every field", fullDeadLetter(), base64.StdEncoding.EncodeToString(fullDeadLetter().Original)},
		{"one of several models", func() DeadLetter { d := fullDeadLetter(); d.Model = &testModel; return d }(),
			base64.StdEncoding.EncodeToString(fullDeadLetter().Original)},
		{"original stored aside", stored, "-"},
		{"empty message", DeadLetter{Error: ErrorInfo{Reason: ReasonInvalidJSON}, Source: testSrc, FailedAt: testTime}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := json.Marshal(&tt.letter)
			require.NoError(t, err)
			require.NoError(t, ValidateDeadLetter(data), string(data))

			var fields map[string]any
			require.NoError(t, json.Unmarshal(data, &fields))
			original, ok := fields["original"]
			if tt.wantOriginal == "-" {
				require.False(t, ok, "original written beside original_object")
			} else {
				require.Equal(t, tt.wantOriginal, original)
			}
			var back DeadLetter
			require.NoError(t, json.Unmarshal(data, &back))
			require.Equal(t, Version, back.SchemaVersion)
			require.Equal(t, tt.letter.OriginalObject, back.OriginalObject)
			require.Equal(t, string(tt.letter.Original), string(back.Original))
		})
	}
}

func TestSchemasRejectBrokenDocuments(t *testing.T) {
	mutate := func(doc any, edit func(m map[string]any)) []byte {
		data, err := json.Marshal(doc)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(data, &m))
		edit(m)
		data, err = json.Marshal(m)
		require.NoError(t, err)
		return data
	}
	region := func(m map[string]any, i int) map[string]any {
		return m["regions"].([]any)[i].(map[string]any)
	}
	tests := []struct {
		name     string
		validate func([]byte) error
		data     []byte
	}{
		{"result without event_id", ValidateResult, mutate(fullResult(), func(m map[string]any) { delete(m, "event_id") })},
		{"result of version 2", ValidateResult, mutate(fullResult(), func(m map[string]any) { m["schema_version"] = 2 })},
		{"result concept score above 1", ValidateResult, mutate(fullResult(), func(m map[string]any) {
			m["concepts"].([]any)[0].(map[string]any)["value"] = 1.5
		})},
		{"mask with png and object", ValidateResult, mutate(fullResult(), func(m map[string]any) {
			region(m, 0)["mask"].(map[string]any)["object"] = map[string]any{"bucket": "b", "name": "n"}
		})},
		{"empty mask", ValidateResult, mutate(fullResult(), func(m map[string]any) { region(m, 0)["mask"] = map[string]any{} })},
		{"mask that is not a PNG", ValidateResult, mutate(fullResult(), func(m map[string]any) {
			region(m, 0)["mask"] = map[string]any{"png": "R0lGODlhAQABAAAAACw="}
		})},
		{"result with bad time", ValidateResult, mutate(fullResult(), func(m map[string]any) { m["predicted_at"] = "yesterday" })},
		{"embedding without vector", ValidateResult, mutate(everyFieldResult(), func(m map[string]any) {
			delete(m["embeddings"].([]any)[0].(map[string]any), "vector")
		})},
		{"colour share above 1", ValidateResult, mutate(everyFieldResult(), func(m map[string]any) {
			m["colors"].([]any)[0].(map[string]any)["value"] = 1.5
		})},
		{"keypoint visibility unknown", ValidateResult, mutate(everyFieldResult(), func(m map[string]any) {
			region(m, 1)["keypoints"].([]any)[0].(map[string]any)["visibility"] = "VISIBLE"
		})},
		{"image without height", ValidateResult, mutate(everyFieldResult(), func(m map[string]any) {
			delete(m["image"].(map[string]any), "height")
		})},
		{"dead letter without reason", ValidateDeadLetter, mutate(fullDeadLetter(), func(m map[string]any) {
			delete(m["error"].(map[string]any), "reason")
		})},
		{"dead letter reason not a word", ValidateDeadLetter, mutate(fullDeadLetter(), func(m map[string]any) {
			m["error"].(map[string]any)["reason"] = "Model Not Found"
		})},
		{"dead letter with original and original_object", ValidateDeadLetter, mutate(fullDeadLetter(), func(m map[string]any) {
			m["original_object"] = map[string]any{"bucket": "b", "name": "n"}
		})},
		{"dead letter without original", ValidateDeadLetter, mutate(fullDeadLetter(), func(m map[string]any) { delete(m, "original") })},
		{"dead letter original not base64", ValidateDeadLetter, mutate(fullDeadLetter(), func(m map[string]any) { m["original"] = "{not base64}" })},
		{"not JSON", ValidateDeadLetter, []byte(`{`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Error(t, tt.validate(tt.data))
		})
	}
}

// TestSchemaDocuments checks what downstream teams read: every field is
// described, definitions repeated across files are identical, and limits
// written in JSON match the Go constants.
func TestSchemaDocuments(t *testing.T) {
	docs := map[string][]byte{"event": EventSchema(), "result": ResultSchema(), "deadletter": DeadLetterSchema()}
	parsed := map[string]map[string]any{}
	for name, raw := range docs {
		var doc map[string]any
		require.NoError(t, json.Unmarshal(raw, &doc), name)
		require.Equal(t, "https://json-schema.org/draft/2020-12/schema", doc["$schema"])
		require.Equal(t, "https://github.com/imgpredict/worker/schemas/"+name+".schema.json", doc["$id"])
		require.NotEmpty(t, doc["title"], name)
		require.NotEmpty(t, doc["description"], name)
		requireDescribed(t, name, doc)
		parsed[name] = doc
	}
	def := func(doc, name string) any { return parsed[doc]["$defs"].(map[string]any)[name] }
	require.Equal(t, def("event", "objectRef"), def("result", "objectRef"))
	require.Equal(t, def("event", "objectRef"), def("deadletter", "objectRef"))
	require.Equal(t, def("result", "source"), def("deadletter", "source"))

	b64 := parsed["event"]["$defs"].(map[string]any)["image"].(map[string]any)["properties"].(map[string]any)["base64"].(map[string]any)
	require.EqualValues(t, maxBase64Len, b64["maxLength"])
	id := parsed["event"]["properties"].(map[string]any)["id"].(map[string]any)
	require.EqualValues(t, MaxIDLength, id["maxLength"])
}

// requireDescribed walks a schema and requires a description on every
// property that is not a plain $ref to a described definition.
func requireDescribed(t *testing.T, path string, node any) {
	t.Helper()
	switch n := node.(type) {
	case map[string]any:
		if props, ok := n["properties"].(map[string]any); ok {
			for name, p := range props {
				pm := p.(map[string]any)
				_, isRef := pm["$ref"]
				_, isBranch := pm["type"] // oneOf branches restate types only
				if !isRef && !(isBranch && len(pm) == 1) {
					require.NotEmpty(t, pm["description"], "%s.%s has no description", path, name)
				}
			}
		}
		for k, v := range n {
			requireDescribed(t, path+"/"+k, v)
		}
	case []any:
		for _, v := range n {
			requireDescribed(t, path, v)
		}
	}
}
