package consumer

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/internal/natstest"
	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/schemas"
)

func TestEveryEventEndsAsOneResultInFullBatches(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	cfg := testConfig()
	cfg.BatchWait = time.Second // far longer than pulling 128 messages takes
	createStream(t, js, jetstream.StreamConfig{Name: "IMAGES", Subjects: []string{"images.>"}})

	want := ids("evt", 1000)
	publishAll(t, js, events(want)) // a backlog before the worker starts
	pred := &fakePredictor{}
	startWorker(t, js, pred, cfg)

	o := waitOutputs(t, js, len(want), 30*time.Second)
	requireExactlyOnce(t, o, want, nil)
	calls := pred.calls()
	for _, n := range calls[:len(calls)-1] {
		require.Equal(t, 128, n, "a call under backlog was not full: %v", calls)
	}
	r := o.results["evt-0007"][0]
	require.Equal(t, "general-image-recognition", r.Model.ID)
	require.Equal(t, "IMAGES", r.Source.Stream)
	require.Equal(t, uint64(1), r.Source.Deliveries)
	require.Equal(t, "c", r.Concepts[0].ID)
}

func TestBadInputBecomesADeadLetterWithItsReason(t *testing.T) {
	srv := natstest.Start(t, func(o *server.Options) { o.MaxPayload = 1 << 20 })
	_, js := natstest.Connect(t, srv.ClientURL())
	store, err := js.CreateObjectStore(t.Context(), jetstream.ObjectStoreConfig{Bucket: "images"})
	require.NoError(t, err)
	_, err = store.PutBytes(t.Context(), "huge.png", bytes.Repeat([]byte{1}, 4097))
	require.NoError(t, err)
	pad := strings.Repeat("x", 900<<10) // too large to inline in a dead letter
	cases := []struct {
		id, reason string
		msg        string
	}{
		{"", schemas.ReasonInvalidJSON, `{"id": "x", "image": `},
		{"", schemas.ReasonMissingID, `{"image": {"url": "https://example.com/a.jpg"}}`},
		{"no-image", schemas.ReasonMissingImage, `{"id": "no-image"}`},
		{"two-images", schemas.ReasonMultipleImages, `{"id": "two-images", "image": {"url": "https://example.com/a.jpg", "base64": "AAAA"}}`},
		{"bad-b64", schemas.ReasonInvalidBase64, `{"id": "bad-b64", "image": {"base64": "not base64!"}}`},
		{"ftp", schemas.ReasonInvalidURL, `{"id": "ftp", "image": {"url": "ftp://example.com/a.jpg"}}`},
		{"huge", schemas.ReasonImageTooLarge, `{"id": "huge", "image": {"object": {"bucket": "images", "name": "huge.png"}}}`},
		{"padded", schemas.ReasonInvalidURL, `{"id": "padded", "image": {"url": "ftp://x/y.jpg"}, "metadata": {"pad": "` + pad + `"}}`},
		{"no-object", schemas.ReasonObjectNotFound, `{"id": "no-object", "image": {"object": {"bucket": "images", "name": "missing.jpg"}}}`},
		{"meta", schemas.ReasonInvalidMetadata, `{"id": "meta", "image": {"url": "https://example.com/a.jpg"}, "metadata": [1, 2]}`},
	}
	good := ids("good", 5)
	msgs := events(good)
	for _, c := range cases {
		msgs = append(msgs, []byte(c.msg))
	}
	cfg := testConfig()
	cfg.MaxImageBytes = 4096
	startWorker(t, js, &fakePredictor{}, cfg)
	publishAll(t, js, msgs)

	o := waitOutputs(t, js, len(msgs), 30*time.Second)
	for _, id := range good {
		require.Len(t, o.results[id], 1)
	}
	dead := map[string]schemas.DeadLetter{}
	for _, ds := range o.deadLetters {
		for _, d := range ds {
			if ref := d.OriginalObject; ref != nil { // too large to inline
				store, err := js.ObjectStore(t.Context(), ref.Bucket)
				require.NoError(t, err)
				d.Original, err = store.GetBytes(t.Context(), ref.Name)
				require.NoError(t, err)
			}
			dead[string(d.Original)] = d
		}
	}
	for _, c := range cases {
		d, ok := dead[c.msg]
		require.True(t, ok, "no dead letter with the original bytes of %s", c.reason)
		require.Equal(t, c.reason, d.Error.Reason)
		require.Equal(t, c.id, d.EventID)
		require.NotEmpty(t, d.Error.Description)
	}
	require.Equal(t, len(cases), o.deadMsgs)
}

func TestTransientFailuresRetryThenDeadLetterAtMaxDeliver(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	var attempts atomic.Int32
	pred := &fakePredictor{fn: func(_ context.Context, req predictor.Request) []predictor.Outcome {
		outs := succeed(req)
		for i, in := range req.Inputs {
			if strings.HasPrefix(string(in.URL), "https://example.com/flaky") {
				attempts.Add(1)
				outs[i] = predictor.Outcome{InputID: in.ID, Err: &predictor.Error{Class: predictor.Transient, Code: 11005, Reason: "throttled"}}
			}
		}
		return outs
	}}
	cfg := testConfig()
	startWorker(t, js, pred, cfg)
	good := ids("ok", 10)
	publishAll(t, js, append(events(good), event("flaky", nil)))

	o := waitOutputs(t, js, len(good)+1, 20*time.Second)
	requireExactlyOnce(t, o, good, []string{"flaky"})
	d := o.deadLetters["flaky"][0]
	require.Equal(t, schemas.ReasonMaxDeliveries, d.Error.Reason)
	require.Equal(t, uint32(11005), d.Error.Code)
	require.Equal(t, uint64(cfg.MaxDeliver), d.Attempts)
	require.Equal(t, int32(cfg.MaxDeliver), attempts.Load())
}

func TestPermanentInputFailureDeadLettersOnlyThatInput(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	pred := &fakePredictor{fn: func(_ context.Context, req predictor.Request) []predictor.Outcome {
		outs := succeed(req)
		for i, in := range req.Inputs {
			if strings.Contains(in.URL, "broken") {
				outs[i] = predictor.Outcome{InputID: in.ID, Err: &predictor.Error{Class: predictor.PermanentInput, Code: 30002, Reason: "input_download_failed", Description: "404"}}
			}
		}
		return outs
	}}
	startWorker(t, js, pred, testConfig())
	good := ids("ok", 20)
	publishAll(t, js, append(events(good), event("broken", nil)))

	o := waitOutputs(t, js, len(good)+1, 20*time.Second)
	requireExactlyOnce(t, o, good, []string{"broken"})
	require.Equal(t, "input_download_failed", o.deadLetters["broken"][0].Error.Reason)
	require.Equal(t, uint64(1), o.deadLetters["broken"][0].Attempts, "a permanent failure is not retried")
}

func TestGroupsByModelAndOutputConfig(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	var mu sync.Mutex
	seen := map[string]int{}
	pred := &fakePredictor{fn: func(_ context.Context, req predictor.Request) []predictor.Outcome {
		mu.Lock()
		seen[req.Model.ID+"/"+req.Model.VersionID]++
		mu.Unlock()
		return succeed(req)
	}}
	cfg := testConfig()
	cfg.DefaultModel.VersionID = "v1"
	startWorker(t, js, pred, cfg)
	publishAll(t, js, [][]byte{
		event("a", nil),
		event("b", map[string]any{"model": map[string]any{"id": "detector"}}),
		event("c", map[string]any{"output_config": map[string]any{"max_concepts": 3}}),
		event("d", map[string]any{"metadata": map[string]any{"album": "x"}}),
	})
	o := waitOutputs(t, js, 4, 10*time.Second)
	requireExactlyOnce(t, o, []string{"a", "b", "c", "d"}, nil)
	require.Equal(t, "detector", o.results["b"][0].Model.ID)
	require.Empty(t, o.results["b"][0].Model.VersionID, "another model must not inherit the default version")
	require.Equal(t, "v1", o.results["a"][0].Model.VersionID)
	require.JSONEq(t, `{"album":"x"}`, string(o.results["d"][0].Metadata))
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 1, seen["detector/"])
	require.GreaterOrEqual(t, seen["general-image-recognition/v1"], 2, "a and c differ in output config")
}

func TestImageFromObjectStore(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	store, err := js.CreateObjectStore(t.Context(), jetstream.ObjectStoreConfig{Bucket: "images"})
	require.NoError(t, err)
	img := imageOf(t, 1_200_000, "big") // larger than a message
	_, err = store.PutBytes(t.Context(), "big.png", img)
	require.NoError(t, err)

	var got atomic.Int64
	pred := &fakePredictor{fn: func(_ context.Context, req predictor.Request) []predictor.Outcome {
		got.Store(int64(len(req.Inputs[0].Bytes)))
		return succeed(req)
	}}
	startWorker(t, js, pred, testConfig())
	publishAll(t, js, [][]byte{[]byte(`{"id": "big", "image": {"object": {"bucket": "images", "name": "big.png"}}}`)})
	o := waitOutputs(t, js, 1, 10*time.Second)
	requireExactlyOnce(t, o, []string{"big"}, nil)
	require.Equal(t, int64(len(img)), got.Load())
}

func TestSameEventIDYieldsOneResult(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	startWorker(t, js, &fakePredictor{}, testConfig())
	publishAll(t, js, [][]byte{event("twice", nil), event("twice", nil), event("once", nil)})
	waitOutputs(t, js, 2, 10*time.Second)
	require.Eventually(t, func() bool { // every input settled, none left to add a result
		info, err := js.Consumer(t.Context(), "IMAGES", "image-predictor")
		require.NoError(t, err)
		ci, err := info.Info(t.Context())
		require.NoError(t, err)
		return ci.NumAckPending == 0 && ci.NumPending == 0
	}, 10*time.Second, 20*time.Millisecond)
	o := readOutputs(t, js)
	requireExactlyOnce(t, o, []string{"twice", "once"}, nil)
}

func TestShutdownUnderLoadLosesNothing(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	slow := &fakePredictor{fn: func(ctx context.Context, req predictor.Request) []predictor.Outcome {
		select { // a slow model: calls are under way when shutdown starts
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
		}
		return succeed(req)
	}}
	cfg := testConfig()
	cfg.BatchSize = 16
	want := ids("evt", 600)
	w := startWorker(t, js, slow, cfg)
	publishAll(t, js, events(want))
	require.Eventually(t, func() bool { return readOutputs(t, js).total() > 50 }, 10*time.Second, 10*time.Millisecond)
	w.stop()
	require.Zero(t, w.c.ledger.count(), "messages left unsettled after shutdown")

	startWorker(t, js, &fakePredictor{}, cfg)
	o := waitOutputs(t, js, len(want), 30*time.Second)
	requireExactlyOnce(t, o, want, nil)
}

func TestCrashedWorkersEventsComeBackToOthers(t *testing.T) {
	srv := natstest.Start(t)
	nc1, js1 := natstest.Connect(t, srv.ClientURL())
	_, js := natstest.Connect(t, srv.ClientURL())
	hang := &fakePredictor{fn: func(ctx context.Context, req predictor.Request) []predictor.Outcome {
		<-ctx.Done() // the crashed worker never answers
		return succeed(req)
	}}
	cfg := testConfig()
	cfg.AckWait = time.Second
	cfg.ShutdownWait = 100 * time.Millisecond // the crashed worker's cleanup
	startWorker(t, js1, hang, cfg)
	want := ids("evt", 300)
	publishAll(t, js, events(want))
	require.Eventually(t, func() bool { return len(hang.calls()) > 0 }, 10*time.Second, 10*time.Millisecond)
	nc1.Close() // the crash: no acks, no naks, no goodbye

	startWorker(t, js, &fakePredictor{}, cfg)
	o := waitOutputs(t, js, len(want), 30*time.Second)
	requireExactlyOnce(t, o, want, nil)
}

func TestThreeWorkersShareOneConsumer(t *testing.T) {
	srv := natstest.Start(t)
	want := ids("evt", 1500)
	preds := make([]*fakePredictor, 3)
	var js jetstream.JetStream
	for i := range preds {
		_, js = natstest.Connect(t, srv.ClientURL())
		preds[i] = &fakePredictor{fn: func(ctx context.Context, req predictor.Request) []predictor.Outcome {
			select {
			case <-time.After(5 * time.Millisecond):
			case <-ctx.Done():
			}
			return succeed(req)
		}}
		cfg := testConfig()
		cfg.BatchSize = 32
		startWorker(t, js, preds[i], cfg)
	}
	publishAll(t, js, events(want))
	o := waitOutputs(t, js, len(want), 30*time.Second)
	requireExactlyOnce(t, o, want, nil)
	for i, p := range preds {
		require.NotEmpty(t, p.calls(), "worker %d got no work", i)
	}
}

// TestBacklogOnReplicatedStreams: a replicated consumer sends a message
// only once its delivery is replicated, so a status the server sends at
// once can overtake the messages of the same pull. A backlog fills every
// pull, and it must still all be delivered.
func TestBacklogOnReplicatedStreams(t *testing.T) {
	nodes := natstest.StartCluster(t, 3)
	_, js := natstest.Connect(t, natstest.ClientURLs(nodes))
	cfg := testConfig()
	cfg.Replicas = 3
	createStream(t, js, jetstream.StreamConfig{Name: "IMAGES", Subjects: []string{"images.>"}, Replicas: 3})
	want := ids("evt", 1000)
	publishAll(t, js, events(want))
	startWorker(t, js, &fakePredictor{}, cfg)
	o := waitOutputs(t, js, len(want), 30*time.Second)
	requireExactlyOnce(t, o, want, nil)
}

func TestRecoversFromServerRestartAndDeletedConsumer(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	cfg := testConfig()
	w := startWorker(t, js, &fakePredictor{}, cfg)
	first := ids("before", 200)
	publishAll(t, js, events(first))
	waitOutputs(t, js, len(first), 20*time.Second)

	srv.Restart()
	second := ids("after-restart", 200)
	publishAll(t, js, events(second))
	waitOutputs(t, js, len(first)+len(second), 30*time.Second)

	require.NoError(t, js.DeleteConsumer(t.Context(), "IMAGES", "image-predictor"))
	require.Eventually(t, func() bool {
		_, err := js.Consumer(t.Context(), "IMAGES", "image-predictor")
		return err == nil && w.c.Ready()
	}, 20*time.Second, 20*time.Millisecond, "consumer not recreated")
	third := ids("after-delete", 50)
	publishAll(t, js, events(third))
	o := waitOutputs(t, js, len(first)+len(second)+len(third), 30*time.Second)
	requireExactlyOnce(t, o, append(append(first, second...), third...), nil)
}

func TestResultsValidateAgainstTheSchema(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	small, mask := pngOf(t, 8), pngOf(t, 400) // the second is over the inline limit
	require.Greater(t, len(mask), 64<<10)
	pred := &fakePredictor{fn: func(_ context.Context, req predictor.Request) []predictor.Outcome {
		outs := succeed(req)
		outs[0].Prediction.Regions = []predictor.Region{
			{ID: "r1", Value: 0.5, Box: &predictor.BoundingBox{TopRow: 0.1, LeftCol: 0.2, BottomRow: 0.3, RightCol: 0.4}, Mask: small, Concepts: []predictor.Concept{{ID: "cat", Value: 0.9}}},
			{ID: "r2", Mask: mask},
		}
		return outs
	}}
	startWorker(t, js, pred, testConfig())
	publishAll(t, js, [][]byte{event("masked", nil)})
	o := waitOutputs(t, js, 1, 10*time.Second) // readOutputs validates each message
	r := o.results["masked"][0]
	require.Equal(t, small, r.Regions[0].Mask.PNG)
	ref := r.Regions[1].Mask.Object
	require.NotNil(t, ref, "a large mask goes to the object store")
	store, err := js.ObjectStore(t.Context(), ref.Bucket)
	require.NoError(t, err)
	stored, err := store.GetBytes(t.Context(), ref.Name)
	require.NoError(t, err)
	require.Equal(t, mask, stored)
	raw, err := json.Marshal(r)
	require.NoError(t, err)
	require.NoError(t, schemas.ValidateResult(raw))
}

// imageOf is an image of n bytes: a small PNG, then tag and padding,
// which decoders ignore.
func imageOf(t *testing.T, n int, tag string) []byte {
	b := append(pngOf(t, 4), tag...)
	return append(b, make([]byte, max(0, n-len(b)))...)
}

// pngOf encodes a size x size greyscale noise image, which compresses badly.
func pngOf(t *testing.T, size int) []byte {
	img := image.NewGray(image.Rect(0, 0, size, size))
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = byte(rnd.IntN(256))
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

// TestHeldBytesStayWithinTheBudget runs on a single server, where pulls
// carry a byte limit, and on a three-node cluster with R3 streams, where
// they cannot and are sized by the free bytes instead.
func TestHeldBytesStayWithinTheBudget(t *testing.T) {
	smallPayload := func(o *server.Options) { o.MaxPayload = 256 << 10 }
	for _, replicas := range []int{1, 3} {
		t.Run(fmt.Sprintf("R%d", replicas), func(t *testing.T) {
			var url string
			if replicas == 1 {
				url = natstest.Start(t, smallPayload).ClientURL()
			} else {
				url = natstest.ClientURLs(natstest.StartCluster(t, replicas, smallPayload))
			}
			_, js := natstest.Connect(t, url)
			img := base64.StdEncoding.EncodeToString(imageOf(t, 90<<10, "held"))
			want := ids("big", 60) // about 7 MiB in all
			msgs := make([][]byte, len(want))
			for i, id := range want {
				msgs[i] = []byte(`{"id":"` + id + `","image":{"base64":"` + img + `"}}`)
			}
			cfg := testConfig()
			cfg.MaxPendingBytes = 1 << 20
			cfg.Replicas = replicas
			w := startWorker(t, js, &fakePredictor{}, cfg)
			publishAll(t, js, msgs)
			o := waitOutputs(t, js, len(want), 30*time.Second)
			requireExactlyOnce(t, o, want, nil)
			b := w.c.ledger.bytes
			b.mu.Lock()
			defer b.mu.Unlock()
			require.LessOrEqual(t, b.peak, b.max, "held more bytes than the budget")
			require.LessOrEqual(t, b.max, cfg.MaxPendingBytes, "the budget was raised")
			require.Greater(t, b.peak, int64(300<<10), "the budget was not used at all")
		})
	}
}

// TestEventThatOutlivedItsDeliveriesIsDeadLettered: a message whose
// earlier deliveries never finished (here, its worker crashed) and that
// comes back more often than WORKER_MAX_DELIVER is dead-lettered, with
// its event id, instead of crashing yet another worker.
func TestEventThatOutlivedItsDeliveriesIsDeadLettered(t *testing.T) {
	srv := natstest.Start(t)
	nc1, js1 := natstest.Connect(t, srv.ClientURL())
	_, js := natstest.Connect(t, srv.ClientURL())
	hang := &fakePredictor{fn: func(ctx context.Context, req predictor.Request) []predictor.Outcome {
		<-ctx.Done()
		return succeed(req)
	}}
	cfg := testConfig()
	cfg.AckWait = time.Second
	cfg.MaxDeliver = 1
	cfg.ShutdownWait = 100 * time.Millisecond
	startWorker(t, js1, hang, cfg)
	publishAll(t, js, [][]byte{event("poison", nil)})
	require.Eventually(t, func() bool { return len(hang.calls()) > 0 }, 10*time.Second, 10*time.Millisecond)
	nc1.Close()

	startWorker(t, js, &fakePredictor{}, cfg)
	o := waitOutputs(t, js, 1, 20*time.Second)
	requireExactlyOnce(t, o, nil, []string{"poison"})
	d := o.deadLetters["poison"][0]
	require.Equal(t, schemas.ReasonMaxDeliveries, d.Error.Reason)
	require.Equal(t, uint64(2), d.Attempts)
}
