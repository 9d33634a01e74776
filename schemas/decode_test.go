package schemas

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// bigBase64Event is an event whose image is n bytes, in base64.
func bigBase64Event(n int) []byte {
	return []byte(`{"id":"big","image":{"base64":"` + base64.StdEncoding.EncodeToString(make([]byte, n)) + `"}}`)
}

func TestDecodeEventRejects(t *testing.T) {
	tests := []struct {
		name, reason, eventID string
		data                  []byte
	}{
		{"not json", ReasonInvalidJSON, "", []byte(`{"id":`)},
		{"top-level array", ReasonInvalidJSON, "", []byte(`[]`)},
		{"top-level null", ReasonInvalidJSON, "", []byte(`null`)},
		{"image not an object", ReasonInvalidJSON, "e1", []byte(`{"id":"e1","image":"http://x.example/a"}`)},
		{"no id", ReasonMissingID, "", []byte(`{"image":{"url":"http://x.example/a"}}`)},
		{"empty id", ReasonMissingID, "", []byte(`{"id":"","image":{"url":"http://x.example/a"}}`)},
		{"numeric id", ReasonInvalidID, "", []byte(`{"id":7,"image":{"url":"http://x.example/a"}}`)},
		{"id of 257 characters", ReasonInvalidID, "", []byte(`{"id":"` + strings.Repeat("ü", 257) + `","image":{"url":"http://x.example/a"}}`)},
		{"no image", ReasonMissingImage, "e1", []byte(`{"id":"e1"}`)},
		{"image without source", ReasonMissingImage, "e1", []byte(`{"id":"e1","image":{"url":null}}`)},
		{"url and object", ReasonMultipleImages, "e1", []byte(`{"id":"e1","image":{"url":"http://x.example/a","object":{"bucket":"b","name":"n"}}}`)},
		{"ftp url", ReasonInvalidURL, "e1", []byte(`{"id":"e1","image":{"url":"ftp://x.example/a"}}`)},
		{"url without host", ReasonInvalidURL, "e1", []byte(`{"id":"e1","image":{"url":"https:///a"}}`)},
		{"unparsable url", ReasonInvalidURL, "e1", []byte(`{"id":"e1","image":{"url":"http://x.example/%zz"}}`)},
		{"url not a string", ReasonInvalidURL, "e1", []byte(`{"id":"e1","image":{"url":true}}`)},
		{"bad base64", ReasonInvalidBase64, "e1", []byte(`{"id":"e1","image":{"base64":"not base64!"}}`)},
		{"base64 with line break", ReasonInvalidBase64, "e1", []byte(`{"id":"e1","image":{"base64":"YWJj\nZGVm"}}`)},
		{"image one byte too large", ReasonImageTooLarge, "big", bigBase64Event(MaxImageBytes + 1)},
		{"base64 too long to decode", ReasonImageTooLarge, "big", bigBase64Event(MaxImageBytes + 3)},
		{"empty bucket", ReasonInvalidObjectRef, "e1", []byte(`{"id":"e1","image":{"object":{"bucket":"","name":"n"}}}`)},
		{"empty object name", ReasonInvalidObjectRef, "e1", []byte(`{"id":"e1","image":{"object":{"bucket":"b","name":""}}}`)},
		{"model not an object", ReasonInvalidModel, "e1", []byte(`{"id":"e1","image":{"url":"http://x.example/a"},"model":[]}`)},
		{"min_value above 1", ReasonInvalidOutputConfig, "e1", []byte(`{"id":"e1","image":{"url":"http://x.example/a"},"output_config":{"min_value":1.01}}`)},
		{"negative max_concepts", ReasonInvalidOutputConfig, "e1", []byte(`{"id":"e1","image":{"url":"http://x.example/a"},"output_config":{"max_concepts":-3}}`)},
		{"metadata array", ReasonInvalidMetadata, "e1", []byte(`{"id":"e1","image":{"url":"http://x.example/a"},"metadata":  [1]}`)},
		{"schema_version 2", ReasonUnsupportedSchemaVersion, "e1", []byte(`{"schema_version":2,"id":"e1","image":{"url":"http://x.example/a"}}`)},
		{"duplicate id", ReasonInvalidJSON, "", []byte(`{"id":"dup1","id":"dup2","image":{"url":"http://x.example/a"}}`)},
		{"id not UTF-8", ReasonInvalidID, "", []byte("{\"id\":\"bad\xff\xfeutf\",\"image\":{\"url\":\"http://x.example/a\"}}")},
		{"id with NUL and newline", ReasonInvalidID, "", []byte(`{"id":"a\u0000b\nc","image":{"url":"http://x.example/a"}}`)},
		// A message that is not I-JSON names no id, however readable.
		{"metadata not UTF-8", ReasonInvalidMetadata, "", []byte("{\"id\":\"e1\",\"image\":{\"url\":\"http://x.example/a\"},\"metadata\":{\"k\":\"\xff\"}}")},
		{"wrong type, then a duplicate id", ReasonInvalidJSON, "", []byte(`{"id":"e1","image":{"url":5},"id":"e2"}`)},
		{"model and models", ReasonInvalidModel, "e1", []byte(`{"id":"e1","image":{"url":"http://x.example/a"},"model":{},"models":[{}]}`)},
		{"output_config beside models", ReasonInvalidOutputConfig, "e1", []byte(`{"id":"e1","image":{"url":"http://x.example/a"},"models":[{}],"output_config":{}}`)},
		{"metadata too deep", ReasonInvalidMetadata, "e1", []byte(`{"id":"e1","image":{"url":"http://x.example/a"},"metadata":` +
			strings.Repeat(`{"a":`, MaxMetadataDepth) + "{}" + strings.Repeat("}", MaxMetadataDepth) + "}")},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := DecodeEvent(tt.data)
			var inv *InvalidEventError
			require.ErrorAs(t, err, &inv)
			require.Equal(t, tt.reason, inv.Reason, inv.Description)
			require.Equal(t, tt.eventID, inv.EventID)
			require.NotEmpty(t, inv.Description)
			require.Less(t, len(inv.Error()), 400, "descriptions must not echo huge input")
			require.Zero(t, ev)
		})
		covered[tt.reason] = true
	}
	for _, r := range InvalidEventReasons() {
		require.True(t, covered[r], "no test rejects with reason %s", r)
	}
}

func TestDecodeEventAccepts(t *testing.T) {
	ev, err := DecodeEvent([]byte(`{"schema_version":1,"id":"e1",
		"image":{"url":"https://x.example/a.jpg"},
		"model":{"id":"m","version_id":"v","user_id":"u","app_id":"p"},
		"output_config":{"max_concepts":5,"min_value":0.25,"select_concepts":["c1"]},
		"metadata":{"tenant":"acme"}}`))
	require.NoError(t, err)
	require.Equal(t, Event{
		SchemaVersion: 1,
		ID:            "e1",
		Image:         Image{URL: "https://x.example/a.jpg"},
		Model:         &Model{ID: "m", VersionID: "v", UserID: "u", AppID: "p"},
		OutputConfig:  &OutputConfig{MaxConcepts: 5, MinValue: 0.25, SelectConcepts: []ConceptRef{{ID: "c1"}}},
		Metadata:      json.RawMessage(`{"tenant":"acme"}`),
	}, ev)
}

func TestDecodeEventReadsModels(t *testing.T) {
	ev, err := DecodeEvent([]byte(`{"id":"e1","image":{"url":"https://x.example/a.jpg"},
		"models":[{"id":"tags"},{"id":"tags","output_config":{"select_concepts":["c1",{"name":"train"},{"id":"c3"}]}},
			{"id":"embed","user_id":"u","app_id":"a","version_id":"v"}]}`))
	require.NoError(t, err)
	want := []ModelSpec{
		{ID: "tags"},
		{ID: "tags", OutputConfig: &OutputConfig{SelectConcepts: []ConceptRef{{ID: "c1"}, {Name: "train"}, {ID: "c3"}}}},
		{ID: "embed", VersionID: "v", UserID: "u", AppID: "a"},
	}
	require.Equal(t, want, ev.Models)
	require.Equal(t, want, ev.Asks())
}

func TestEventAsks(t *testing.T) {
	oc := &OutputConfig{MaxConcepts: 3}
	require.Equal(t, []ModelSpec{{}}, (&Event{}).Asks(), "the worker's default model")
	require.Equal(t, []ModelSpec{{ID: "m", AppID: "a", OutputConfig: oc}},
		(&Event{Model: &Model{ID: "m", AppID: "a"}, OutputConfig: oc}).Asks())
	require.Equal(t, []ModelSpec{{OutputConfig: oc}}, (&Event{OutputConfig: oc}).Asks())
}

func TestConceptRefJSON(t *testing.T) {
	for _, tt := range []struct {
		ref  ConceptRef
		json string
	}{
		{ConceptRef{ID: "ai_1"}, `"ai_1"`},
		{ConceptRef{Name: "train"}, `{"name":"train"}`},
	} {
		b, err := json.Marshal(tt.ref)
		require.NoError(t, err)
		require.JSONEq(t, tt.json, string(b))
		var back ConceptRef
		require.NoError(t, json.Unmarshal(b, &back))
		require.Equal(t, tt.ref, back)
	}
	var c ConceptRef
	require.NoError(t, json.Unmarshal([]byte(`{"id":"ai_1","name":null}`), &c))
	require.Equal(t, ConceptRef{ID: "ai_1"}, c)
	for _, bad := range []string{`{"id":"a","name":"b"}`, `{}`, `7`, `null`, `["a"]`} {
		require.Error(t, json.Unmarshal([]byte(`[`+bad+`]`), &[]ConceptRef{}), bad)
	}
}

func TestDecodeEventFillsImageBytes(t *testing.T) {
	ev, err := DecodeEvent(bigBase64Event(MaxImageBytes))
	require.NoError(t, err)
	require.Len(t, ev.Image.Bytes, MaxImageBytes)

	ev, err = DecodeEvent([]byte(`{"id":"e1","image":{"base64":"aGVsbG8="}}`))
	require.NoError(t, err)
	require.Equal(t, "aGVsbG8=", ev.Image.Base64)
	require.Equal(t, []byte("hello"), ev.Image.Bytes)
}

func TestDecodeEventTreatsNullAsAbsent(t *testing.T) {
	ev, err := DecodeEvent([]byte(`{"id":"e1","image":{"object":{"bucket":"b","name":"n"},"url":null},
		"schema_version":null,"model":null,"output_config":null,"metadata":null}`))
	require.NoError(t, err)
	require.Equal(t, Event{ID: "e1", Image: Image{Object: &ObjectRef{Bucket: "b", Name: "n"}}}, ev)
}

func TestInvalidEventErrorMessage(t *testing.T) {
	_, err := DecodeEvent([]byte(`{"id":"e1","image":{"url":"ftp://x.example/a"}}`))
	require.EqualError(t, err, `invalid event "e1": invalid_url: url "ftp://x.example/a" is not http or https`)
	var inv *InvalidEventError
	require.True(t, errors.As(err, &inv))
}
