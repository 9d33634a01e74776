package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/publisher"
	"github.com/imgpredict/worker/schemas"
)

// fakePredictor answers with fn and records the size of every call.
type fakePredictor struct {
	fn func(ctx context.Context, req predictor.Request) []predictor.Outcome

	mu    sync.Mutex
	sizes []int
}

func (f *fakePredictor) Ready(ctx context.Context) error { return ctx.Err() }

func (f *fakePredictor) Predict(ctx context.Context, req predictor.Request) []predictor.Outcome {
	f.mu.Lock()
	f.sizes = append(f.sizes, len(req.Inputs))
	f.mu.Unlock()
	if f.fn != nil {
		return f.fn(ctx, req)
	}
	return succeed(req)
}

func (f *fakePredictor) calls() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.sizes...)
}

// succeed answers every input with one concept naming its input id.
func succeed(req predictor.Request) []predictor.Outcome {
	outs := make([]predictor.Outcome, len(req.Inputs))
	for i, in := range req.Inputs {
		outs[i] = predictor.Outcome{InputID: in.ID, Prediction: &predictor.Prediction{
			Model:    req.Model,
			Status:   predictor.Status{Code: 10000, Description: "Ok", ReqID: "fake"},
			Concepts: []predictor.Concept{{ID: "c", Name: fmt.Sprint(len(in.Bytes)), Value: 0.9}},
		}}
	}
	return outs
}

func testConfig() Config {
	cfg := DefaultConfig()
	cfg.BatchWait = 20 * time.Millisecond
	cfg.AckWait = 2 * time.Second
	cfg.MaxDeliver = 3
	cfg.NakDelayBase = 20 * time.Millisecond
	cfg.NakDelayMax = 100 * time.Millisecond
	cfg.ShutdownWait = 5 * time.Second
	cfg.FetchMaxWait = 200 * time.Millisecond
	cfg.InfoInterval = 200 * time.Millisecond
	cfg.PublishRetryMax = 200 * time.Millisecond
	return cfg
}

// worker runs a consumer until the test ends or stop is called.
type worker struct {
	c      *Consumer
	cancel context.CancelFunc
	done   chan struct{}
}

func startWorker(t *testing.T, js jetstream.JetStream, pred Predictor, cfg Config) *worker {
	t.Helper()
	pcfg := publisher.DefaultConfig()
	pcfg.Replicas = cfg.Replicas
	return startWorkerWith(t, js, pred, cfg, pcfg)
}

// startWorkerWith starts a worker whose publisher has its own config.
func startWorkerWith(t *testing.T, js jetstream.JetStream, pred Predictor, cfg Config, pcfg publisher.Config, opts ...Option) *worker {
	t.Helper()
	pub, err := publisher.New(js.Conn(), pcfg, zerolog.Nop())
	require.NoError(t, err)
	require.NoError(t, pub.Setup(t.Context()))
	c, err := New(js, pred, pub, cfg, zerolog.Nop(), nil, opts...)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	w := &worker{c: c, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		_ = c.Run(ctx)
	}()
	t.Cleanup(w.stop)
	require.Eventually(t, c.Ready, 10*time.Second, 10*time.Millisecond, "consumer never bound")
	return w
}

// stop cancels the worker and waits until it has settled what it held.
func (w *worker) stop() {
	w.cancel()
	<-w.done
}

// createStream makes the input stream before a worker starts.
func createStream(t *testing.T, js jetstream.JetStream, cfg jetstream.StreamConfig) {
	t.Helper()
	_, err := js.CreateStream(t.Context(), cfg)
	require.NoError(t, err)
}

func event(id string, extra map[string]any) []byte {
	ev := map[string]any{"id": id, "image": map[string]any{"url": "https://example.com/" + id + ".jpg"}}
	for k, v := range extra {
		ev[k] = v
	}
	b, _ := json.Marshal(ev)
	return b
}

// publishAll stores every message in the input stream, publishing again
// what a server that is still starting did not store.
func publishAll(t *testing.T, js jetstream.JetStream, msgs [][]byte) {
	t.Helper()
	futures := make([]jetstream.PubAckFuture, len(msgs))
	for i, m := range msgs {
		f, err := js.PublishAsync(fmt.Sprintf("images.test.%d", i%4), m)
		require.NoError(t, err)
		futures[i] = f
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case <-f.Err():
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			_, err := js.PublishMsg(ctx, f.Msg(), jetstream.WithRetryAttempts(100), jetstream.WithRetryWait(50*time.Millisecond))
			cancel()
			require.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Fatal("publishing events timed out")
		}
	}
}

// outputs are the results and dead letters stored so far, by event id.
type outputs struct {
	results     map[string][]schemas.Result
	deadLetters map[string][]schemas.DeadLetter
	resultMsgs  int // messages in the results stream
	deadMsgs    int
}

func (o outputs) total() int { return o.resultMsgs + o.deadMsgs }

func readOutputs(t *testing.T, js jetstream.JetStream) outputs {
	t.Helper()
	o := outputs{results: map[string][]schemas.Result{}, deadLetters: map[string][]schemas.DeadLetter{}}
	o.resultMsgs = readStream(t, js, "PREDICTIONS", func(data []byte) {
		var r schemas.Result
		require.NoError(t, json.Unmarshal(data, &r))
		require.NoError(t, schemas.ValidateResult(data))
		o.results[r.EventID] = append(o.results[r.EventID], r)
	})
	o.deadMsgs = readStream(t, js, "DEADLETTERS", func(data []byte) {
		var d schemas.DeadLetter
		require.NoError(t, json.Unmarshal(data, &d))
		require.NoError(t, schemas.ValidateDeadLetter(data))
		o.deadLetters[d.EventID] = append(o.deadLetters[d.EventID], d)
	})
	return o
}

func readStream(t *testing.T, js jetstream.JetStream, stream string, each func([]byte)) int {
	t.Helper()
	var (
		msgs [][]byte
		err  error
	)
	// A replicated stream may not answer at once for a consumer just made.
	for range 50 {
		if msgs, err = tryReadStream(js, stream); !errors.Is(err, nats.ErrNoResponders) {
			break
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
	require.NoError(t, err, "reading %s", stream)
	for _, m := range msgs {
		each(m)
	}
	return len(msgs)
}

func tryReadStream(js jetstream.JetStream, stream string) ([][]byte, error) {
	ctx := context.Background()
	s, err := js.Stream(ctx, stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, err
	}
	n := int(info.State.Msgs)
	if n == 0 {
		return nil, nil
	}
	oc, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, err
	}
	msgs := make([][]byte, 0, n)
	for len(msgs) < n {
		batch, err := oc.Fetch(n-len(msgs), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, err
		}
		for m := range batch.Messages() {
			msgs = append(msgs, m.Data())
		}
		if err := batch.Error(); err != nil {
			return nil, err
		}
	}
	return msgs, nil
}

// waitOutputs polls until want outputs are stored and returns them.
func waitOutputs(t *testing.T, js jetstream.JetStream, want int, within time.Duration) outputs {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		o := readOutputs(t, js)
		if o.total() >= want {
			return o
		}
		if time.Now().After(deadline) {
			for id, d := range o.deadLetters {
				t.Logf("dead letter %q: %s", id, d[0].Error.Reason)
			}
			t.Fatalf("%d results and %d dead letters, want %d outputs", o.resultMsgs, o.deadMsgs, want)
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
}

// requireExactlyOnce checks that each id has exactly one output in all.
func requireExactlyOnce(t *testing.T, o outputs, resultIDs, deadIDs []string) {
	t.Helper()
	for _, id := range resultIDs {
		require.Len(t, o.results[id], 1, "results of %s", id)
		require.Empty(t, o.deadLetters[id], "dead letters of %s", id)
	}
	for _, id := range deadIDs {
		require.Len(t, o.deadLetters[id], 1, "dead letters of %s", id)
		require.Empty(t, o.results[id], "results of %s", id)
	}
	require.Equal(t, len(resultIDs), o.resultMsgs, "result messages")
	require.Equal(t, len(deadIDs), o.deadMsgs, "dead-letter messages")
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%04d", prefix, i)
	}
	return out
}

func events(idList []string) [][]byte {
	out := make([][]byte, len(idList))
	for i, id := range idList {
		out[i] = event(id, nil)
	}
	return out
}
