package consumer

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/internal/natstest"
	"github.com/imgpredict/worker/memo"
	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/publisher"
)

// startMemo runs a memo on js's connection until the test ends.
func startMemo(t *testing.T, js jetstream.JetStream, cfg memo.Config) *memo.Memo {
	t.Helper()
	m, err := memo.New(js.Conn(), cfg, zerolog.Nop(), nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-m.Checked():
	case <-time.After(10 * time.Second):
		t.Fatal("memo never checked its buckets")
	}
	return m
}

func streamMsgs(t *testing.T, js jetstream.JetStream, name string) uint64 {
	s, err := js.Stream(t.Context(), name)
	if err != nil {
		return 0
	}
	return s.CachedInfo().State.Msgs
}

// TestRepublishedEventsArePaidOnce: long after the results stream's
// duplicate window, the same events published again are acked without a
// call and without a second result.
func TestRepublishedEventsArePaidOnce(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	createStream(t, js, jetstream.StreamConfig{Name: "PREDICTIONS", Subjects: []string{"predictions.>"}, Duplicates: time.Second})
	pred := &fakePredictor{}
	startWorkerWith(t, js, pred, testConfig(), publisher.DefaultConfig(), WithMemory(startMemo(t, js, memo.DefaultConfig())))
	want := ids("evt", 800)
	publishAll(t, js, events(want))
	waitOutputs(t, js, len(want), 30*time.Second)
	require.Eventually(t, func() bool { return streamMsgs(t, js, "KV_image-worker-done") >= uint64(len(want)) },
		10*time.Second, 20*time.Millisecond, "idempotency records")
	time.Sleep(2 * time.Second) // past the results stream's duplicate window

	calls := pred.predicted()
	publishAll(t, js, events(want))
	require.Eventually(t, func() bool { return consumerIdle(t, js) }, 20*time.Second, 20*time.Millisecond)
	o := readOutputs(t, js)
	requireExactlyOnce(t, o, want, nil)
	require.Equal(t, calls, pred.predicted(), "events already predicted were predicted again")
}

// consumerIdle reports whether the durable consumer has nothing left.
func consumerIdle(t *testing.T, js jetstream.JetStream) bool {
	c, err := js.Consumer(t.Context(), "IMAGES", "image-predictor")
	if err != nil {
		return false
	}
	ci, err := c.Info(t.Context())
	return err == nil && ci.NumPending == 0 && ci.NumAckPending == 0
}

func imageEvent(id string, img []byte, extra string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"image":{"base64":%q},"metadata":{"n":%q}%s}`, id, base64.StdEncoding.EncodeToString(img), id, extra)
}

// TestSameImageIsPredictedOnce: events whose image bytes were seen get the
// cached prediction in a result of their own; another output config or
// model is predicted; an image twice in one batch is sent once.
func TestSameImageIsPredictedOnce(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	pred := &fakePredictor{}
	cfg := testConfig()
	cfg.BatchWait = 300 * time.Millisecond // a backlog of 128 makes one full call
	mem := startMemo(t, js, memo.DefaultConfig())
	createStream(t, js, jetstream.StreamConfig{Name: "IMAGES", Subjects: []string{"images.>"}})

	img := func(i int) []byte { return imageOf(t, 0, fmt.Sprint("image-", i%64)) } // 64 distinct images
	var first [][]byte
	for i := range 128 {
		first = append(first, imageEvent(fmt.Sprintf("first-%d", i), img(i), ""))
	}
	publishAll(t, js, first)
	startWorkerWith(t, js, pred, cfg, publisher.DefaultConfig(), WithMemory(mem))
	waitOutputs(t, js, 128, 20*time.Second)
	require.Equal(t, []int{64}, pred.calls(), "each image twice in one batch was sent once")
	require.Eventually(t, func() bool { return streamMsgs(t, js, "KV_image-worker-cache") >= 64 }, 10*time.Second, 20*time.Millisecond)

	var again [][]byte
	for i := range 200 {
		again = append(again, imageEvent(fmt.Sprintf("again-%d", i), img(i), ""))
	}
	publishAll(t, js, again)
	o := waitOutputs(t, js, 328, 20*time.Second)
	require.Equal(t, 64, pred.predicted(), "cached images were predicted again")
	for i := range 200 {
		id := fmt.Sprintf("again-%d", i)
		require.Len(t, o.results[id], 1)
		r := o.results[id][0]
		require.True(t, r.Cached)
		require.Equal(t, id, r.EventID)
		require.JSONEq(t, fmt.Sprintf(`{"n":%q}`, id), string(r.Metadata))
		require.NotEmpty(t, r.Concepts)
	}
	require.False(t, o.results["first-0"][0].Cached)

	publishAll(t, js, [][]byte{
		imageEvent("other-config", img(0), `,"output_config":{"max_concepts":3}`),
		imageEvent("other-model", img(0), `,"model":{"id":"detector"}`),
	})
	o = waitOutputs(t, js, 330, 20*time.Second)
	require.Equal(t, 66, pred.predicted(), "another output config or model is another prediction")
	require.False(t, o.results["other-model"][0].Cached)
}

// TestCachedImagesLeaveNoPlaceEmpty: under a backlog where half the
// events repeat cached images, calls are filled with new images instead
// of going out half empty, so the quota of calls drains twice the events.
func TestCachedImagesLeaveNoPlaceEmpty(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	pred := &fakePredictor{fn: func(ctx context.Context, req predictor.Request) []predictor.Outcome {
		select { // a call takes a while, as Clarifai's do, so that the backlog is pulled meanwhile
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
		}
		return succeed(req)
	}}
	cfg := testConfig()
	cfg.BatchWait = 300 * time.Millisecond
	cfg.MaxInflight = 1
	mem := startMemo(t, js, memo.DefaultConfig())
	seen := func(i int) []byte { return imageOf(t, 0, fmt.Sprint("seen-", i)) }
	var first [][]byte
	for i := range 128 {
		first = append(first, imageEvent(fmt.Sprintf("first-%d", i), seen(i), ""))
	}
	w := startWorkerWith(t, js, pred, cfg, publisher.DefaultConfig(), WithMemory(mem))
	publishAll(t, js, first)
	waitOutputs(t, js, 128, 20*time.Second)
	require.Eventually(t, func() bool { return streamMsgs(t, js, "KV_image-worker-cache") >= 128 }, 10*time.Second, 20*time.Millisecond)
	w.stop()
	before := len(pred.calls())

	var backlog [][]byte
	for i := range 256 {
		backlog = append(backlog,
			imageEvent(fmt.Sprintf("again-%d", i), seen(i%128), ""),
			imageEvent(fmt.Sprintf("new-%d", i), imageOf(t, 0, fmt.Sprint("new-", i)), ""))
	}
	publishAll(t, js, backlog)
	startWorkerWith(t, js, pred, cfg, publisher.DefaultConfig(), WithMemory(mem))
	waitOutputs(t, js, 128+len(backlog), 30*time.Second)
	calls := pred.calls()[before:]
	sent := 0
	for _, n := range calls {
		sent += n
	}
	require.Equal(t, 256, sent, "only the new images are sent")
	// Batches of 128 events with half of them cached would take 4 calls of
	// 64; the first call may go out before the backlog is all pulled.
	require.LessOrEqual(t, len(calls), 3, "calls %v left the places of cached images empty", calls)
}

// TestMemoryUnavailableFallsBackToMsgIDs: with no permission to the
// buckets (here: they are never usable, the server refuses KV), every
// event still gets exactly one result inside the duplicate window.
func TestMemoryUnavailableFallsBackToMsgIDs(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	cfg := memo.DefaultConfig()
	cfg.Create = false // no bucket exists and none may be made: the memo is unavailable
	pred := &fakePredictor{}
	startWorkerWith(t, js, pred, testConfig(), publisher.DefaultConfig(), WithMemory(startMemo(t, js, cfg)))
	want := ids("evt", 300)
	publishAll(t, js, append(events(want), events(want[:50])...))
	require.Eventually(t, func() bool { return consumerIdle(t, js) }, 20*time.Second, 20*time.Millisecond)
	requireExactlyOnce(t, readOutputs(t, js), want, nil)
}

// TestOneModelFailingRedeliversOnlyThatModel: an event asking two models
// whose second fails transiently is redelivered; the model whose result
// is already stored is not predicted again, and each model has one
// result on the subject of the model asked.
func TestOneModelFailingRedeliversOnlyThatModel(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	var mu sync.Mutex
	asked := map[string]int{}
	pred := &fakePredictor{fn: func(_ context.Context, req predictor.Request) []predictor.Outcome {
		outs := succeed(req)
		mu.Lock()
		defer mu.Unlock()
		for i, in := range req.Inputs {
			asked[req.Model.ID]++
			if req.Model.ID == "flaky" && strings.Contains(in.ID, "-d1") {
				outs[i] = predictor.Outcome{InputID: in.ID, Err: &predictor.Error{Class: predictor.TransientInput, Reason: "server_error", Code: 30004}}
			}
		}
		return outs
	}}
	startWorkerWith(t, js, pred, testConfig(), publisher.DefaultConfig(), WithMemory(startMemo(t, js, memo.DefaultConfig())))
	publishAll(t, js, [][]byte{[]byte(`{"id":"two","image":{"url":"https://example.com/2.jpg"},"models":[{"id":"steady"},{"id":"flaky"}]}`)})
	require.Eventually(t, func() bool { return streamMsgs(t, js, "PREDICTIONS") == 2 && consumerIdle(t, js) }, 20*time.Second, 20*time.Millisecond)
	o := readOutputs(t, js)
	require.Len(t, o.results["two"], 2)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, map[string]int{"steady": 1, "flaky": 2}, asked, "the stored model was predicted again")
	s, err := js.Stream(t.Context(), "PREDICTIONS")
	require.NoError(t, err)
	for _, subject := range []string{"predictions.steady", "predictions.flaky"} {
		_, err := s.GetLastMsgForSubject(t.Context(), subject)
		require.NoError(t, err, subject)
	}
}
