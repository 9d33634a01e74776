package consumer

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/internal/natstest"
	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/publisher"
	"github.com/imgpredict/worker/schemas"
)

// predicted is how many inputs the predictor was asked to predict.
func (f *fakePredictor) predicted() int {
	n := 0
	for _, s := range f.calls() {
		n += s
	}
	return n
}

// outputStreams makes what a worker that may create nothing needs.
func outputStreams(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	createStream(t, js, jetstream.StreamConfig{Name: "PREDICTIONS", Subjects: []string{"predictions.>"}, Duplicates: time.Minute})
	createStream(t, js, jetstream.StreamConfig{Name: "DEADLETTERS", Subjects: []string{"deadletters.>"}})
	for _, b := range []string{"masks", "deadletters"} {
		_, err := js.CreateObjectStore(t.Context(), jetstream.ObjectStoreConfig{Bucket: b})
		require.NoError(t, err)
	}
}

// TestInputStreamIsFoundBySubject: a stream an operator made under another
// name is used as it is, and no stream of the worker's own name appears.
func TestInputStreamIsFoundBySubject(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	createStream(t, js, jetstream.StreamConfig{Name: "UPLOADS", Subjects: []string{"images.>"}})
	startWorker(t, js, &fakePredictor{}, testConfig())
	want := ids("evt", 10)
	publishAll(t, js, events(want))
	o := waitOutputs(t, js, len(want), 10*time.Second)
	requireExactlyOnce(t, o, want, nil)
	require.Equal(t, "UPLOADS", o.results["evt-0001"][0].Source.Stream)
	_, err := js.Stream(t.Context(), "IMAGES")
	require.ErrorIs(t, err, jetstream.ErrStreamNotFound)
}

// TestConfigurationsThatCannotWorkFailAtStart: instead of retrying for
// ever, Run returns at once with an error naming the setting.
func TestConfigurationsThatCannotWorkFailAtStart(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	createStream(t, js, jetstream.StreamConfig{Name: "PART", Subjects: []string{"images.a"}})
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
	}{
		{"only part of the subjects captured", func(*Config) {}},
		{"nothing captures them and creation is off", func(c *Config) { c.Subjects = []string{"uploads.>"}; c.CreateStreams = false }},
		{"the stream name holds other subjects", func(c *Config) { c.Subjects = []string{"uploads.>"}; c.Stream = "PART" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			tc.mutate(&cfg)
			c, err := New(js, &fakePredictor{}, nil, cfg, zerolog.Nop(), nil)
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			err = c.Run(ctx)
			require.ErrorIs(t, err, ErrInvalidConfig)
			require.ErrorContains(t, err, "WORKER_SUBJECTS")
			require.NoError(t, ctx.Err(), "Run returned at once, not at the deadline")
		})
	}
}

// TestOutputOutageNeitherRepaysNorDeadLetters: while the results stream is
// gone, predicted events are held and their results published again until
// it is back; on the last allowed delivery too. Nothing is predicted
// twice, nothing is dead-lettered, nothing is lost.
func TestOutputOutageNeitherRepaysNorDeadLetters(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	outputStreams(t, js)
	cfg := testConfig()
	cfg.MaxDeliver = 1 // every delivery is the last allowed one
	pcfg := publisher.DefaultConfig()
	pcfg.CreateStreams = false
	pred := &fakePredictor{}
	startWorkerWith(t, js, pred, cfg, pcfg)
	require.NoError(t, js.DeleteStream(t.Context(), "PREDICTIONS"))

	want := ids("evt", 50)
	publishAll(t, js, events(want))
	require.Eventually(t, func() bool { return pred.predicted() >= len(want) }, 10*time.Second, 10*time.Millisecond)
	time.Sleep(3 * cfg.AckWait / 2) // the outage outlasts AckWait: held messages must not come back
	createStream(t, js, jetstream.StreamConfig{Name: "PREDICTIONS", Subjects: []string{"predictions.>"}, Duplicates: time.Minute})

	o := waitOutputs(t, js, len(want), 20*time.Second)
	requireExactlyOnce(t, o, want, nil)
	require.Equal(t, len(want), pred.predicted(), "a failed publish made the worker predict again")
}

// TestResultTooLargeIsADeadLetterPredictedOnce: a result that cannot fit
// the server's max_payload is dead-lettered with its own reason after one
// call, not predicted again on every delivery.
func TestResultTooLargeIsADeadLetterPredictedOnce(t *testing.T) {
	srv := natstest.Start(t, func(o *server.Options) { o.MaxPayload = 256 << 10 })
	_, js := natstest.Connect(t, srv.ClientURL())
	pred := &fakePredictor{fn: func(_ context.Context, req predictor.Request) []predictor.Outcome {
		outs := succeed(req)
		for i := range outs {
			p := outs[i].Prediction
			for j := range 20000 {
				p.Concepts = append(p.Concepts, predictor.Concept{ID: fmt.Sprintf("concept-%d", j), Value: 0.5})
			}
		}
		return outs
	}}
	startWorker(t, js, pred, testConfig())
	publishAll(t, js, [][]byte{event("chatty", nil)})
	o := waitOutputs(t, js, 1, 10*time.Second)
	requireExactlyOnce(t, o, nil, []string{"chatty"})
	require.Equal(t, schemas.ReasonResultTooLarge, o.deadLetters["chatty"][0].Error.Reason)
	require.Equal(t, 1, pred.predicted())
}

// TestManyMasksFitTheServersMaxPayload: a segmentation result whose
// inline masks add up to more than max_payload is stored, with masks in
// the Object Store, after one call.
func TestManyMasksFitTheServersMaxPayload(t *testing.T) {
	srv := natstest.Start(t, func(o *server.Options) { o.MaxPayload = 1 << 20 })
	_, js := natstest.Connect(t, srv.ClientURL())
	mask := pngOf(t, 220) // noise: about 48 KiB of PNG
	require.Greater(t, len(mask), 47<<10)
	pred := &fakePredictor{fn: func(_ context.Context, req predictor.Request) []predictor.Outcome {
		outs := succeed(req)
		for i := range outs {
			for j := range 24 {
				outs[i].Prediction.Regions = append(outs[i].Prediction.Regions, predictor.Region{ID: fmt.Sprint(j), Mask: mask})
			}
		}
		return outs
	}}
	cfg := testConfig()
	cfg.AckWait = 30 * time.Second // storing masks on a loaded machine must not race AckWait
	startWorker(t, js, pred, cfg)
	want := ids("seg", 5)
	publishAll(t, js, events(want))
	o := waitOutputs(t, js, len(want), 20*time.Second)
	requireExactlyOnce(t, o, want, nil)
	require.Equal(t, len(want), pred.predicted())
	r := o.results["seg-0000"][0]
	require.Len(t, r.Regions, 24)
	var inline, stored int
	for _, rg := range r.Regions {
		if rg.Mask.Object != nil {
			stored++
		} else {
			inline++
		}
	}
	require.Positive(t, stored)
	require.Positive(t, inline, "masks that fit stay inline")
}

// TestMessageNearMaxPayloadDoesNotStall: with the smallest byte budget
// and the server's default max_payload, a message nearly max_payload large
// fits a pull, and the events behind it are not held up.
func TestMessageNearMaxPayloadDoesNotStall(t *testing.T) {
	srv := natstest.Start(t, func(o *server.Options) { o.MaxPayload = 1 << 20 })
	_, js := natstest.Connect(t, srv.ClientURL())
	cfg := testConfig()
	cfg.MaxPendingBytes = 1 << 20
	startWorker(t, js, &fakePredictor{}, cfg)
	img := base64.StdEncoding.EncodeToString(imageOf(t, (1<<20-400)/4*3, "big"))
	msgs := [][]byte{[]byte(`{"id":"big","image":{"base64":"` + img + `"}}`)}
	want := ids("evt", 20)
	msgs = append(msgs, events(want)...)
	publishAll(t, js, msgs)
	o := waitOutputs(t, js, len(msgs), 20*time.Second)
	requireExactlyOnce(t, o, append(want, "big"), nil)
}

// TestMessageLargerThanMaxPayloadIsADeadLetter: a message stored before
// the server's max_payload was lowered is larger than any pull may ask
// for. It is dead-lettered (original bytes kept), and the events behind
// it are delivered.
func TestMessageLargerThanMaxPayloadIsADeadLetter(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	createStream(t, js, jetstream.StreamConfig{Name: "IMAGES", Subjects: []string{"images.>"}})
	big := []byte(`{"id":"big","image":{"base64":"` + base64.StdEncoding.EncodeToString(imageOf(t, 3<<20, "big")) + `"}}`)
	want := ids("evt", 20)
	publishAll(t, js, append([][]byte{big}, events(want)...))
	srv.Restart(func(o *server.Options) { o.MaxPayload = 1 << 20 })
	_, js = natstest.Connect(t, srv.ClientURL())

	cfg := testConfig()
	cfg.MaxPendingBytes = 1 << 20
	startWorker(t, js, &fakePredictor{}, cfg)
	o := waitOutputs(t, js, len(want)+1, 20*time.Second)
	requireExactlyOnce(t, o, want, []string{"big"})
	d := o.deadLetters["big"][0]
	require.Equal(t, schemas.ReasonMessageTooLarge, d.Error.Reason)
	require.NotNil(t, d.OriginalObject, "the original bytes are kept in the Object Store")
}

// TestObjectImageLargerThanTheBudgetIsADeadLetter: an image the byte
// budget can never hold is dead-lettered at once instead of waiting for
// room that never comes.
func TestObjectImageLargerThanTheBudgetIsADeadLetter(t *testing.T) {
	srv := natstest.Start(t, func(o *server.Options) { o.MaxPayload = 1 << 20 })
	_, js := natstest.Connect(t, srv.ClientURL())
	store, err := js.CreateObjectStore(t.Context(), jetstream.ObjectStoreConfig{Bucket: "images"})
	require.NoError(t, err)
	_, err = store.PutBytes(t.Context(), "large.jpg", bytes.Repeat([]byte{7}, 2<<20))
	require.NoError(t, err)
	cfg := testConfig()
	cfg.MaxPendingBytes = 1 << 20
	startWorker(t, js, &fakePredictor{}, cfg)
	want := ids("evt", 5)
	publishAll(t, js, append([][]byte{[]byte(`{"id":"large","image":{"object":{"bucket":"images","name":"large.jpg"}}}`)}, events(want)...))
	o := waitOutputs(t, js, len(want)+1, 10*time.Second)
	requireExactlyOnce(t, o, want, []string{"large"})
	require.Equal(t, schemas.ReasonImageTooLarge, o.deadLetters["large"][0].Error.Reason)
}

// readyFuture is a PubAck future that has already resolved.
type readyFuture struct {
	ok  chan *jetstream.PubAck
	err chan error
}

func (f readyFuture) Ok() <-chan *jetstream.PubAck { return f.ok }
func (f readyFuture) Err() <-chan error            { return f.err }
func (f readyFuture) Msg() *nats.Msg               { return nil }

// TestPubAckThatArrivedWinsOverAnEndedContext: select picks at random
// among ready cases; a stored output must never be taken for a lost one.
func TestPubAckThatArrivedWinsOverAnEndedContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for range 1000 {
		f := readyFuture{ok: make(chan *jetstream.PubAck, 1), err: make(chan error, 1)}
		f.ok <- &jetstream.PubAck{}
		o := &output{future: f}
		require.NoError(t, pubAck(ctx, o))
	}
}

// TestGroupKeysNeverCollide: events whose settings differ never share a
// call, whatever bytes their strings hold.
func TestGroupKeysNeverCollide(t *testing.T) {
	m := predictor.Model{UserID: "u", AppID: "a", ID: "m"}
	ids := func(ids ...string) predictor.OutputConfig {
		oc := predictor.OutputConfig{}
		for _, id := range ids {
			oc.SelectConcepts = append(oc.SelectConcepts, predictor.ConceptRef{ID: id})
		}
		return oc
	}
	for _, pair := range [][2]predictor.OutputConfig{
		{ids("cat\x01dog"), ids("cat", "dog")},
		{ids("a:b"), ids("a", "b")},
		{ids("1:a"), ids("a")},
		{{SelectConcepts: []predictor.ConceptRef{{Name: "cat"}}}, ids("cat")},
	} {
		require.NotEqual(t, groupKey(m, pair[0]), groupKey(m, pair[1]), "%q", pair)
	}
	require.NotEqual(t, groupKey(predictor.Model{UserID: "u\x00a", ID: "m"}, predictor.OutputConfig{}),
		groupKey(predictor.Model{UserID: "u", AppID: "a", ID: "m"}, predictor.OutputConfig{}))

	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	var mu sync.Mutex
	asked := map[string][]predictor.ConceptRef{} // input url -> select concepts of its call
	pred := &fakePredictor{fn: func(_ context.Context, req predictor.Request) []predictor.Outcome {
		mu.Lock()
		for _, in := range req.Inputs {
			asked[in.URL] = req.OutputConfig.SelectConcepts
		}
		mu.Unlock()
		return succeed(req)
	}}
	startWorker(t, js, pred, testConfig())
	publishAll(t, js, [][]byte{
		event("joined", map[string]any{"output_config": map[string]any{"select_concepts": []string{"1:a"}}}),
		event("split", map[string]any{"output_config": map[string]any{"select_concepts": []string{"a"}}}),
	})
	waitOutputs(t, js, 2, 10*time.Second)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, ids("1:a").SelectConcepts, asked["https://example.com/joined.jpg"])
	require.Equal(t, ids("a").SelectConcepts, asked["https://example.com/split.jpg"])
}

// TestTakenTasksAreReleased: the batcher keeps no reference to tasks it
// handed out, so their images can be freed while the queue lives on.
func TestTakenTasksAreReleased(t *testing.T) {
	p := newPending(2, time.Hour)
	for range 3 {
		p.add(&task{key: "k", m: &message{}})
	}
	backing := p.queues["k"]
	require.Len(t, p.take("k"), 2)
	require.Nil(t, backing[0])
	require.Nil(t, backing[1])
	require.NotNil(t, backing[2], "the task still pending stays")
}

// TestShutdownHandsBackEverythingAtOnce: a stopping worker hands back all
// it was sent, the pull still open included, so a replacement started at
// once finishes every event long before AckWait could bring any back.
func TestShutdownHandsBackEverythingAtOnce(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	slow := &fakePredictor{fn: func(ctx context.Context, req predictor.Request) []predictor.Outcome {
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
		}
		return succeed(req)
	}}
	cfg := testConfig()
	cfg.AckWait = time.Minute // anything left for AckWait would miss the deadline below
	cfg.FetchMaxWait = time.Second
	want := ids("evt", 3000)
	w := startWorker(t, js, slow, cfg)
	publishAll(t, js, events(want))
	require.Eventually(t, func() bool { return readOutputs(t, js).total() > len(want)/3 }, 20*time.Second, 10*time.Millisecond)
	w.stop()
	startWorker(t, js, slow, cfg)
	o := waitOutputs(t, js, len(want), 30*time.Second)
	requireExactlyOnce(t, o, want, nil)
}
