package consumer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/predictor/clarifai"
	"github.com/imgpredict/worker/predictor/clarifai/clarifaipb"
	"github.com/imgpredict/worker/predictor/clarifai/clarifaitest"
	"github.com/imgpredict/worker/schemas"
)

// fuzzMsg is an input message with nothing behind it but its bytes.
type fuzzMsg struct {
	jetstream.Msg
	data []byte
}

func (m fuzzMsg) Data() []byte         { return m.data }
func (m fuzzMsg) Subject() string      { return "images.fuzz" }
func (m fuzzMsg) Headers() nats.Header { return nil }

// FuzzEventToResult feeds arbitrary message bytes through everything the
// worker does with them short of NATS: decoding; for what decodes, a task
// per model, the predict request (marshalled by the real Clarifai client
// over gRPC to the fake server, which answers with every kind of data),
// the mapping of its response and the result, which must validate against
// result.schema.json and survive a round trip through the Go types; for
// what does not, the dead letter, which must validate against
// deadletter.schema.json and carry the original bytes.
func FuzzEventToResult(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	fake := clarifaitest.NewServer()
	f.Cleanup(fake.Close)
	rich := &clarifaipb.Data{}
	for _, d := range []*clarifaipb.Data{clarifaitest.Concepts("a", "b"), clarifaitest.Boxes(2), clarifaitest.Masks(1, 8),
		clarifaitest.Embeddings(1, 8), clarifaitest.Colors(2), clarifaitest.Polygons(1, 4), clarifaitest.Keypoints(1, 3)} {
		rich.Concepts = append(rich.Concepts, d.Concepts...)
		rich.Regions = append(rich.Regions, d.Regions...)
		rich.Embeddings = append(rich.Embeddings, d.Embeddings...)
		rich.Colors = append(rich.Colors, d.Colors...)
	}
	cfg := testConfig()
	client, err := clarifai.NewClient(clarifai.ClientConfig{Endpoint: fake.Addr(), Insecure: true, PAT: "p", RateLimit: 1e9}, zerolog.Nop())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = client.Close() })
	c := &Consumer{cfg: cfg, defaultKey: groupKey(cfg.DefaultModel, predictor.OutputConfig{})}
	meta := &jetstream.MsgMetadata{Stream: "IMAGES", NumDelivered: 1, Sequence: jetstream.SequencePair{Stream: 7}}

	f.Fuzz(func(t *testing.T, data []byte) {
		m := &message{msg: fuzzMsg{data: data}, meta: meta, arrived: time.Now()}
		ev, err := schemas.DecodeEvent(data)
		if err != nil {
			f := dead(schemas.ReasonInvalidJSON, err.Error())
			var inv *schemas.InvalidEventError
			if errors.As(err, &inv) {
				m.event.ID, f = inv.EventID, dead(inv.Reason, inv.Description)
			}
			d := m.addTask(predictor.Model{}, predictor.OutputConfig{}, "").deadLetter(f, time.Now())
			b, err := d.MarshalJSON()
			if err != nil {
				t.Fatalf("dead letter does not encode: %v", err)
			}
			if err := schemas.ValidateDeadLetter(b); err != nil {
				t.Fatalf("dead letter %s: %v", b, err)
			}
			var back schemas.DeadLetter
			if err := json.Unmarshal(b, &back); err != nil || !bytes.Equal(back.Original, data) {
				t.Fatalf("dead letter does not carry the original bytes (%v)", err)
			}
			return
		}
		m.event = ev
		for _, tk := range c.tasks(m) {
			if ev.Image.Object != nil { // as read from the Object Store
				tk.input.Bytes = []byte("image bytes")
			}
			req, _ := request([]*task{tk})
			fake.SetPayload(req.Model.ID, rich)
			outs := client.Predict(context.Background(), req)
			if len(outs) != 1 || outs[0].Err != nil || outs[0].Prediction == nil {
				t.Fatalf("a valid event's request failed: %+v", outs)
			}
			r := tk.result(outs[0].Prediction, time.Now())
			b, err := r.MarshalJSON()
			if err != nil {
				t.Fatalf("result does not encode: %v", err)
			}
			if err := schemas.ValidateResult(b); err != nil {
				t.Fatalf("result %s: %v", b, err)
			}
			var back schemas.Result
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("result does not decode: %v", err)
			}
			again, err := back.MarshalJSON()
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("result changed in a round trip (%v):\n%s\n%s", err, b, again)
			}
		}
	})
}

// fuzzSeeds are the schemas package's corpus of events, small enough to
// mutate, and the hostile cases of the strict-reading issue.
func fuzzSeeds(tb testing.TB) [][]byte {
	seeds := [][]byte{
		[]byte(`{"id":"bad\xff\xfeutf","image":{"url":"https://x.example/a.jpg"}}`),
		[]byte(`{"id":"a\u0000b\nc","image":{"url":"https://x.example/a.jpg"}}`),
		[]byte(`{"id":"dup1","id":"dup2","image":{"url":"https://x.example/a.jpg"}}`),
		[]byte(`{"id":"m","image":{"url":"https://x.example/a.jpg"},"models":[{"id":"a"},{"id":"b","output_config":{"select_concepts":[{"name":"cat"}]}}]}`),
	}
	err := filepath.WalkDir("../schemas/testdata/events", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		b, err := os.ReadFile(path)
		if err == nil && len(b) <= 16<<10 {
			seeds = append(seeds, b)
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return seeds
}
