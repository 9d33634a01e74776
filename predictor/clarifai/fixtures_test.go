package clarifai

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/schemas"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/imgpredict/worker/predictor/clarifai/clarifaipb"
)

const fixtureDir = "testdata/clarifai-fixtures"

type fixture struct {
	Message string         `json:"message"`
	Bytes   int            `json:"bytes"`
	Value   map[string]any `json:"value"`
}

func loadManifest(t *testing.T) map[string]fixture {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(fixtureDir, "manifest.json"))
	require.NoError(t, err)
	var m map[string]fixture
	require.NoError(t, json.Unmarshal(raw, &m))
	require.NotEmpty(t, m)
	return m
}

// loadFixture unmarshals name.bin into a new message of the manifest's type.
func loadFixture(t *testing.T, name string, f fixture) proto.Message {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(fixtureDir, name+".bin"))
	require.NoError(t, err)
	require.Len(t, raw, f.Bytes)
	var msg proto.Message
	switch f.Message {
	case "clarifai.api.PostModelOutputsRequest":
		msg = &pb.PostModelOutputsRequest{}
	case "clarifai.api.MultiOutputResponse":
		msg = &pb.MultiOutputResponse{}
	default:
		t.Fatalf("fixture %s: unexpected message type %s", name, f.Message)
	}
	require.NoError(t, proto.Unmarshal(raw, msg))
	return msg
}

// TestFixturesDecode proves the hand-written proto agrees with Clarifai's:
// every fixture decodes to exactly the manifest's values, with no field
// left unknown.
func TestFixturesDecode(t *testing.T) {
	for name, f := range loadManifest(t) {
		t.Run(name, func(t *testing.T) {
			msg := loadFixture(t, name, f)
			requireMatches(t, name, msg.ProtoReflect(), f.Value)
		})
	}
}

// requireMatches compares a message with its manifest JSON (proto field
// names, defaults left out, 64-bit integers as strings, bytes as base64).
func requireMatches(t *testing.T, path string, m protoreflect.Message, want map[string]any) {
	t.Helper()
	require.Empty(t, m.GetUnknown(), "%s: fields the proto does not declare", path)
	m.Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		require.Contains(t, want, string(fd.Name()), "%s: decoded field not in manifest", path)
		return true
	})
	fields := m.Descriptor().Fields()
	for key, w := range want {
		p := path + "." + key
		fd := fields.ByName(protoreflect.Name(key))
		require.NotNil(t, fd, "%s: no such field", p)
		require.True(t, m.Has(fd), "%s: missing", p)
		v := m.Get(fd)
		if fd.IsList() {
			ws, ok := w.([]any)
			require.True(t, ok, "%s: manifest value is not a list", p)
			require.Equal(t, len(ws), v.List().Len(), "%s: length", p)
			for i, wi := range ws {
				requireScalar(t, p+"["+strconv.Itoa(i)+"]", fd, v.List().Get(i), wi)
			}
			continue
		}
		requireScalar(t, p, fd, v, w)
	}
}

func requireScalar(t *testing.T, path string, fd protoreflect.FieldDescriptor, v protoreflect.Value, w any) {
	t.Helper()
	switch fd.Kind() {
	case protoreflect.MessageKind:
		wm, ok := w.(map[string]any)
		require.True(t, ok, "%s: manifest value is not an object", path)
		requireMatches(t, path, v.Message(), wm)
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		require.InDelta(t, w.(float64), v.Float(), 1e-6, path)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		require.Equal(t, w.(string), strconv.FormatInt(v.Int(), 10), path)
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		require.Equal(t, w.(string), strconv.FormatUint(v.Uint(), 10), path)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		require.Equal(t, w.(float64), float64(v.Int()), path)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		require.Equal(t, w.(float64), float64(v.Uint()), path)
	case protoreflect.EnumKind:
		require.Equal(t, w.(float64), float64(v.Enum()), path)
	case protoreflect.BoolKind:
		require.Equal(t, w.(bool), v.Bool(), path)
	case protoreflect.StringKind:
		require.Equal(t, w.(string), v.String(), path)
	case protoreflect.BytesKind:
		want, err := base64.StdEncoding.DecodeString(w.(string))
		require.NoError(t, err, path)
		require.Equal(t, want, v.Bytes(), path)
	default:
		t.Fatalf("%s: kind %s not handled", path, fd.Kind())
	}
}

// TestBuildRequestMatchesFixture: what the client sends for the inputs of
// request_two_inputs is exactly what Clarifai's own client sends.
func TestBuildRequestMatchesFixture(t *testing.T) {
	const name = "request_two_inputs"
	f := loadManifest(t)[name]
	want := loadFixture(t, name, f)

	png, err := base64.StdEncoding.DecodeString(
		"iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAAAAACMmsGiAAAAGklEQVR4nGNgkLOJAuEKBpuoimkMURXTtgAAKkQFoR0+40QAAAAASUVORK5CYII=")
	require.NoError(t, err)
	req := predictor.Request{
		Model: predictor.Model{UserID: "clarifai", AppID: "main", ID: "general-image-recognition",
			VersionID: "aa7f35c01e0642fda5cf400f543e7c40"},
		OutputConfig: predictor.OutputConfig{MaxConcepts: 5, MinValue: 0.5},
		Inputs: []predictor.Input{
			{ID: "evt-1", URL: "https://samples.clarifai.com/metro-north.jpg"},
			{ID: "evt-2", Bytes: png},
		},
	}
	got := buildRequest(&req, []int{0, 1})
	require.True(t, proto.Equal(want, got), "built request differs from the fixture:\ngot  %v\nwant %v", got, want)
}

// TestMapFixtureResponses checks what each recorded response means for the
// inputs evt-1 and evt-2.
func TestMapFixtureResponses(t *testing.T) {
	manifest := loadManifest(t)
	req := &predictor.Request{
		Model:  predictor.Model{UserID: "clarifai", AppID: "main", ID: "general-image-recognition"},
		Inputs: []predictor.Input{{ID: "evt-1", URL: "u1"}, {ID: "evt-2", URL: "u2"}},
	}
	mapFixture := func(t *testing.T, name string, idx []int) ([]result, *predictor.Error) {
		t.Helper()
		resp := loadFixture(t, name, manifest[name]).(*pb.MultiOutputResponse)
		res := make([]result, len(idx))
		return res, mapResponse(resp, req, idx, res)
	}

	t.Run("concepts", func(t *testing.T) {
		res, whole := mapFixture(t, "response_concepts", []int{0, 1})
		require.Nil(t, whole)
		require.Nil(t, res[0].err)
		require.Nil(t, res[1].err)
		p := res[0].pred
		require.Len(t, p.Concepts, 5)
		require.Equal(t, "train", p.Concepts[0].Name)
		require.InDelta(t, 0.99960595, p.Concepts[0].Value, 1e-6)
		require.Equal(t, predictor.Model{UserID: "clarifai", AppID: "main", ID: "general-image-recognition",
			VersionID: "aa7f35c01e0642fda5cf400f543e7c40"}, p.Model)
		require.Equal(t, "fixture-req-1", p.Status.ReqID)
		require.Equal(t, "out-1", p.OutputID)
		require.Equal(t, time.Unix(1740731206, 185089857).UTC(), p.CreatedAt)
		require.Len(t, res[1].pred.Concepts, 3)
		require.Equal(t, "blur", res[1].pred.Concepts[0].Name)
	})
	t.Run("outputs matched by id, not position", func(t *testing.T) {
		rev := &predictor.Request{Model: req.Model, Inputs: []predictor.Input{req.Inputs[1], req.Inputs[0]}}
		resp := loadFixture(t, "response_concepts", manifest["response_concepts"]).(*pb.MultiOutputResponse)
		res := make([]result, 2)
		require.Nil(t, mapResponse(resp, rev, []int{0, 1}, res))
		require.Equal(t, "blur", res[0].pred.Concepts[0].Name)
		require.Equal(t, "train", res[1].pred.Concepts[0].Name)
	})
	t.Run("detection", func(t *testing.T) {
		res, whole := mapFixture(t, "response_detection", []int{0})
		require.Nil(t, whole)
		regs := res[0].pred.Regions
		require.Len(t, regs, 2)
		require.Equal(t, "reg-1", regs[0].ID)
		require.InDelta(t, 0.1, regs[0].Box.TopRow, 1e-6)
		require.InDelta(t, 0.2, regs[0].Box.LeftCol, 1e-6)
		require.InDelta(t, 0.5, regs[0].Box.BottomRow, 1e-6)
		require.InDelta(t, 0.6, regs[0].Box.RightCol, 1e-6)
		require.Equal(t, "cat", regs[0].Concepts[0].Name)
		require.InDelta(t, 0.81, regs[1].Concepts[0].Value, 1e-6)
	})
	t.Run("segmentation", func(t *testing.T) {
		res, whole := mapFixture(t, "response_segmentation", []int{0})
		require.Nil(t, whole)
		regs := res[0].pred.Regions
		require.Len(t, regs, 2)
		require.Nil(t, regs[0].Box)
		img, err := png.Decode(bytes.NewReader(regs[0].Mask))
		require.NoError(t, err)
		require.Equal(t, 8, img.Bounds().Dx())
		inside, _, _, _ := img.At(3, 3).RGBA()
		outside, _, _, _ := img.At(0, 0).RGBA()
		require.Equal(t, uint32(math.MaxUint16), inside)
		require.Zero(t, outside)
		require.Equal(t, "sky", regs[0].Concepts[0].Name)
	})
	t.Run("mixed status fails only the failed input", func(t *testing.T) {
		res, whole := mapFixture(t, "response_mixed_status", []int{0, 1})
		require.Nil(t, whole)
		require.NotNil(t, res[0].pred)
		require.Equal(t, &predictor.Error{Class: predictor.PermanentInput, Code: 30002, Reason: schemas.ReasonInputDownloadFailed,
			Description: "Download failed; check URL: 404 Not Found", ReqID: "fixture-req-2"}, res[1].err)
	})
	for _, tc := range []struct {
		name   string
		class  predictor.Class
		reason string
	}{
		{"response_throttled", predictor.Transient, schemas.ReasonThrottled},
		{"response_model_busy", predictor.Transient, schemas.ReasonModelUnavailable},
		{"response_model_does_not_exist", predictor.Permanent, schemas.ReasonModelNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, whole := mapFixture(t, tc.name, []int{0, 1})
			require.NotNil(t, whole)
			require.Equal(t, tc.class, whole.Class)
			require.Equal(t, tc.reason, whole.Reason)
			require.NotEmpty(t, whole.ReqID)
		})
	}
}

// TestFixturesCopyIsCurrent: the project's copy must equal the shared
// originals when they are around (as in CI); a fresh clone has only the copy.
func TestFixturesCopyIsCurrent(t *testing.T) {
	// The repository root is "../..", and the shared directory sits beside it.
	shared := filepath.Join("..", "..", "..", "shared", "clarifai-fixtures")
	entries, err := os.ReadDir(shared)
	if err != nil {
		t.Logf("no shared fixtures at %s (%v): checking the project's copy only", shared, err)
		return
	}
	ours, err := os.ReadDir(fixtureDir)
	require.NoError(t, err)
	names := func(es []os.DirEntry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Name())
		}
		return out
	}
	require.Equal(t, names(entries), names(ours))
	for _, e := range entries {
		want, err := os.ReadFile(filepath.Join(shared, e.Name()))
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(fixtureDir, e.Name()))
		require.NoError(t, err)
		require.Equal(t, want, got, "%s differs from the shared fixture", e.Name())
	}
}
