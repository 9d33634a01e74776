package consumer

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/internal/natstest"
	"github.com/imgpredict/worker/memo"
	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/publisher"
	"github.com/imgpredict/worker/schemas"
)

// twinWorld is a server with a backlog of n events whose images cycle
// through imgs, and a memo on it.
type twinWorld struct {
	js  jetstream.JetStream
	mem *memo.Memo
	ids []string
}

func newTwinWorld(t *testing.T, n int, imgs ...[]byte) *twinWorld {
	t.Helper()
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	createStream(t, js, jetstream.StreamConfig{Name: "IMAGES", Subjects: []string{"images.>"}})
	w := &twinWorld{js: js, mem: startMemo(t, js, memo.DefaultConfig())}
	var evs [][]byte
	for i := range n {
		w.ids = append(w.ids, fmt.Sprintf("twin-%d", i))
		evs = append(evs, imageEvent(w.ids[i], imgs[i%len(imgs)], ""))
	}
	publishAll(t, js, evs)
	return w
}

// run starts a worker with one call per batch of size, and pause probes
// every 100-200 ms.
func (w *twinWorld) run(t *testing.T, pred Predictor, size int) {
	t.Helper()
	cfg := testConfig()
	cfg.BatchSize = size
	cfg.PauseProbeMin, cfg.PauseProbeMax = 100*time.Millisecond, 200*time.Millisecond
	startWorkerWith(t, w.js, pred, cfg, publisher.DefaultConfig(), WithMemory(w.mem))
}

// requireOneResultEach waits until every event has ended as one result.
func (w *twinWorld) requireOneResultEach(t *testing.T) outputs {
	t.Helper()
	require.Eventually(t, func() bool { return consumerIdle(t, w.js) && streamMsgs(t, w.js, "PREDICTIONS") == uint64(len(w.ids)) },
		20*time.Second, 20*time.Millisecond)
	o := readOutputs(t, w.js)
	requireExactlyOnce(t, o, w.ids, nil)
	return o
}

// failing answers after delay, as Clarifai does, so that other events
// queue behind its calls; the first n calls fail with err for every
// input, after during(req) when it is set.
func failing(delay time.Duration, n int, err *predictor.Error, during func(req predictor.Request)) *fakePredictor {
	var mu sync.Mutex
	calls := 0
	return &fakePredictor{fn: func(ctx context.Context, req predictor.Request) []predictor.Outcome {
		mu.Lock()
		calls++
		fail := calls <= n
		mu.Unlock()
		select {
		case <-time.After(delay):
		case <-ctx.Done():
		}
		outs := succeed(req)
		if !fail {
			return outs
		}
		if during != nil {
			during(req)
		}
		for i, in := range req.Inputs {
			outs[i] = predictor.Outcome{InputID: in.ID, Err: err}
		}
		return outs
	}}
}

var (
	serverError = &predictor.Error{Class: predictor.TransientInput, Reason: "server_error", Code: 30004}
	authFailed  = &predictor.Error{Class: predictor.Account, Code: 11007, Reason: "auth_failed"}
)

// TestSameImageInCallsAtOnceIsPaidOnce: events with one image, each in a
// call of its own, eight in flight at once, make one prediction: the
// calls after the first wait for its result instead of paying again.
func TestSameImageInCallsAtOnceIsPaidOnce(t *testing.T) {
	w := newTwinWorld(t, 20, imageOf(t, 0, "twin"))
	pred := failing(500*time.Millisecond, 0, nil, nil)
	w.run(t, pred, 1)
	o := w.requireOneResultEach(t)
	require.Equal(t, []int{1}, pred.calls(), "the same image was paid for in calls in flight at once")
	cached := 0
	for _, id := range w.ids {
		require.Equal(t, id, o.results[id][0].EventID)
		if o.results[id][0].Cached {
			cached++
		}
	}
	require.Equal(t, len(w.ids)-1, cached)
}

// TestTwinsOfAFailedCallArePredicted: when the call the others wait on
// fails, they are predicted after all, once between them.
func TestTwinsOfAFailedCallArePredicted(t *testing.T) {
	w := newTwinWorld(t, 20, imageOf(t, 0, "twin"))
	pred := failing(300*time.Millisecond, 1, serverError, nil)
	w.run(t, pred, 1)
	w.requireOneResultEach(t)
	require.LessOrEqual(t, len(pred.calls()), 3, "calls %v: the waiting events were not predicted once between them", pred.calls())
}

// TestTwinsOfAPausedCallAreAnswered: the calls the others wait on (one
// per image) fail for the whole account; their tasks are parked. The
// probe's task answers its twins; the other parked task goes back to a
// call, leads its image again, and answers its own: each image is
// predicted once after the pause.
func TestTwinsOfAPausedCallAreAnswered(t *testing.T) {
	w := newTwinWorld(t, 10, imageOf(t, 0, "twin-a"), imageOf(t, 0, "twin-b"))
	pred := failing(300*time.Millisecond, 2, authFailed, nil)
	w.run(t, pred, 1)
	w.requireOneResultEach(t)
	require.Equal(t, []int{1, 1, 1, 1}, pred.calls(), "two calls that failed, then one per image")
}

// TestCallMatesOfAPausedLeaderWaitOnIt: an image twice in a call that
// fails for the whole account. Only the task that leads the image is
// parked; the other waits on it with the rest, so the probe cannot
// answer the image through it while the leader goes back to be
// predicted again.
func TestCallMatesOfAPausedLeaderWaitOnIt(t *testing.T) {
	w := newTwinWorld(t, 10, imageOf(t, 0, "twin"))
	pred := failing(300*time.Millisecond, 2, authFailed, nil)
	w.run(t, pred, 2)
	w.requireOneResultEach(t)
	require.Equal(t, []int{1, 1, 1}, pred.calls(), "a failed call, a failed probe, then the image once")
}

// TestTwinsOfALeaderAnsweredFromTheCache: while the account cannot call,
// another replica stores the images' predictions in the cache. The
// parked leader that goes back to a call is answered from the cache, and
// so are the events that waited on it.
func TestTwinsOfALeaderAnsweredFromTheCache(t *testing.T) {
	w := newTwinWorld(t, 10, imageOf(t, 0, "twin-a"), imageOf(t, 0, "twin-b"))
	pred := failing(300*time.Millisecond, 2, authFailed, func(req predictor.Request) { // another replica's result
		key, _ := w.mem.CacheKey(req.Inputs[0].Bytes, "", schemaModel(req.Model), nil)
		v, err := (&schemas.Result{SchemaVersion: schemas.Version, Model: schemaModel(req.Model), Status: schemas.Status{Code: 10000}}).MarshalJSON()
		require.NoError(t, err)
		<-w.mem.Remember(key, v).Ok()
	})
	w.run(t, pred, 1)
	w.requireOneResultEach(t)
	require.Equal(t, []int{1, 1, 1}, pred.calls(), "two failed calls and the probe; the rest from the cache")
}
