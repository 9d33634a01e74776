package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/imgpredict/worker/consumer"
	"github.com/imgpredict/worker/embedded"
	"github.com/imgpredict/worker/internal/ctxtime"
	"github.com/imgpredict/worker/memo"
	"github.com/imgpredict/worker/publisher"
)

// Stream and subject names, as the worker's defaults.
const (
	inputStream   = "IMAGES"
	resultsStream = "PREDICTIONS"
	deadStream    = "DEADLETTERS"
	resultSubject = "predictions.general-image-recognition"
)

// stallWait bounds the wait of an async publish for room in the window of
// PubAcks awaited.
const stallWait = 30 * time.Second

// conn is one client connection with its JetStream context.
type conn struct {
	nc *nats.Conn
	js jetstream.JetStream
}

func dial(url, name string) (conn, error) {
	nc, err := nats.Connect(url, nats.Name(name))
	if err != nil {
		return conn{}, fmt.Errorf("connect %s: %w", name, err)
	}
	// The same async publish window as cmd/worker.
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096), jetstream.WithPublishAsyncTimeout(15*time.Second))
	if err != nil {
		nc.Close()
		return conn{}, fmt.Errorf("jetstream %s: %w", name, err)
	}
	return conn{nc: nc, js: js}, nil
}

// bench holds two connections to a server: one for the system under test
// (worker, ceiling loop, naive loop), one for the load generator and the
// observer, as in production where they are separate processes.
type bench struct {
	sut     conn
	drv     conn
	log     zerolog.Logger
	results jetstream.Stream
	stop    func() // stops the server, when the bench owns it
}

// newBench starts an in-process server with file storage in a temporary
// directory and connects to it.
func newBench(ctx context.Context, log zerolog.Logger) (*bench, error) {
	dir, err := os.MkdirTemp("", "workerbench-*")
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	srv, err := embedded.Start(ctx, embedded.Config{Listen: "127.0.0.1:-1", DataDir: dir}, log)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("start server: %w", err)
	}
	b, err := connectBench(srv.ClientURL(), log)
	if err != nil {
		srv.Shutdown()
		_ = os.RemoveAll(dir)
		return nil, err
	}
	b.stop = func() {
		srv.Shutdown()
		_ = os.RemoveAll(dir)
	}
	return b, nil
}

// connectBench connects to the server at url.
func connectBench(url string, log zerolog.Logger) (*bench, error) {
	b := &bench{log: log, stop: func() {}}
	var err error
	if b.sut, err = dial(url, "workerbench-sut"); err == nil {
		b.drv, err = dial(url, "workerbench-driver")
	}
	if err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

func (b *bench) close() {
	for _, c := range []conn{b.sut, b.drv} {
		if c.nc != nil {
			c.nc.Close()
		}
	}
	b.stop()
}

func streamConfigs() []jetstream.StreamConfig {
	return []jetstream.StreamConfig{
		{Name: inputStream, Subjects: []string{"images.>"}, Storage: jetstream.FileStorage},
		{Name: resultsStream, Subjects: []string{"predictions.>"}, Storage: jetstream.FileStorage, Duplicates: 10 * time.Minute},
		{Name: deadStream, Subjects: []string{"deadletters.>"}, Storage: jetstream.FileStorage},
	}
}

// fresh deletes the streams and memo buckets of the previous scenario and
// creates empty streams, so that every scenario starts from the same state.
func (b *bench) fresh(ctx context.Context) error {
	// The worker's idempotency records and cache would make it skip the
	// next round's events, which reuse their ids and images.
	mc := memo.DefaultConfig()
	for _, bucket := range []string{mc.DoneBucket, mc.CacheBucket} {
		if err := b.drv.js.DeleteKeyValue(ctx, bucket); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
			return fmt.Errorf("delete bucket %s: %w", bucket, err)
		}
	}
	return b.freshStreams(ctx)
}

// freshStreams recreates the streams empty and keeps the memo's buckets.
func (b *bench) freshStreams(ctx context.Context) error {
	for _, s := range streamConfigs() {
		if err := b.drv.js.DeleteStream(ctx, s.Name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("delete stream %s: %w", s.Name, err)
		}
		if _, err := b.drv.js.CreateStream(ctx, s); err != nil {
			return fmt.Errorf("create stream %s: %w", s.Name, err)
		}
	}
	s, err := b.drv.js.Stream(ctx, resultsStream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", resultsStream, err)
	}
	b.results = s
	return nil
}

// event is an event as an upload service would publish it.
func event(id string, metadata string) []byte {
	ev := `{"id":"` + id + `","image":{"url":"https://images.example.com/uploads/` + id + `.jpg"}`
	if metadata != "" {
		ev += `,"metadata":` + metadata
	}
	return []byte(ev + "}")
}

// publishBacklog stores n events with the given metadata in the input
// stream. When the window of PubAcks awaited is full it waits for the
// server rather than fail: nats.go gives up after 200 ms by default, which
// a server slowed by the race detector or a loaded machine exceeds.
func (b *bench) publishBacklog(ctx context.Context, prefix string, n int, metadata string) error {
	return b.publishEvents(ctx, n, func(i int) []byte { return event(prefix+"-"+strconv.Itoa(i), metadata) })
}

// publishEvents stores n events in the input stream, the ith as ev(i)
// makes it, as publishBacklog does.
func (b *bench) publishEvents(ctx context.Context, n int, ev func(i int) []byte) error {
	for i := range n {
		subject := "images.bench." + strconv.Itoa(i%4)
		if _, err := b.drv.js.PublishAsync(subject, ev(i), jetstream.WithStallWait(stallWait)); err != nil {
			return fmt.Errorf("publish event %d: %w", i, err)
		}
	}
	select {
	case <-b.drv.js.PublishAsyncComplete():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stored is how many results the results stream holds. A request that
// times out is asked again a few times: on a loaded machine the server
// can take longer than the client's default API timeout (5 s) to answer.
func (b *bench) stored(ctx context.Context) (uint64, error) {
	var err error
	for range 6 {
		var info *jetstream.StreamInfo
		if info, err = b.results.Info(ctx); err == nil {
			return info.State.Msgs, nil
		}
		if ctx.Err() != nil || !(errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout)) {
			break
		}
	}
	return 0, fmt.Errorf("results stream info: %w", err)
}

// waitStored polls until more than above results are stored and returns
// the count and when it was seen.
func (b *bench) waitStored(ctx context.Context, above uint64, poll, within time.Duration) (uint64, time.Time, error) {
	deadline := time.Now().Add(within)
	for {
		n, err := b.stored(ctx)
		if err != nil {
			return 0, time.Time{}, err
		}
		now := time.Now()
		if n > above {
			return n, now, nil
		}
		if now.After(deadline) {
			return n, now, fmt.Errorf("results stuck at %d within %s", n, within)
		}
		if err := ctxtime.Sleep(ctx, poll); err != nil {
			return 0, time.Time{}, err
		}
	}
}

// worker is a running consumer.
type worker struct {
	cancel context.CancelFunc
	done   chan error
}

// workerConfig is the worker's default configuration for the bench streams.
func workerConfig() consumer.Config {
	cfg := consumer.DefaultConfig()
	cfg.ShutdownWait = 5 * time.Second
	return cfg
}

// startWorker starts the consumer without the memo: nothing is looked up
// or remembered in KV, as the throughput figures are meant.
func (b *bench) startWorker(ctx context.Context, pred consumer.Predictor, cfg consumer.Config) (*worker, error) {
	return b.start(ctx, pred, cfg, nil, nil)
}

// startRemembering starts the worker as cmd/worker wires it by default:
// the memo (idempotency records and result cache) runs beside the
// consumer, which starts consuming once the memo has looked at its
// buckets. Both register their metrics on reg.
func (b *bench) startRemembering(ctx context.Context, pred consumer.Predictor, cfg consumer.Config, reg prometheus.Registerer) (*worker, error) {
	mem, err := memo.New(b.sut.nc, memo.DefaultConfig(), b.log, reg)
	if err != nil {
		return nil, fmt.Errorf("memo: %w", err)
	}
	return b.start(ctx, pred, cfg, reg, mem)
}

// start runs a consumer, with mem as its memory unless mem is nil.
func (b *bench) start(ctx context.Context, pred consumer.Predictor, cfg consumer.Config, reg prometheus.Registerer, mem *memo.Memo) (*worker, error) {
	pub, err := publisher.New(b.sut.js.Conn(), publisher.DefaultConfig(), b.log)
	if err != nil {
		return nil, fmt.Errorf("publisher: %w", err)
	}
	if err := pub.Setup(ctx); err != nil {
		return nil, fmt.Errorf("publisher: %w", err)
	}
	var opts []consumer.Option
	if mem != nil {
		opts = append(opts, consumer.WithMemory(mem))
	}
	c, err := consumer.New(b.sut.js, pred, pub, cfg, b.log, reg, opts...)
	if err != nil {
		return nil, fmt.Errorf("consumer: %w", err)
	}
	wctx, cancel := context.WithCancel(ctx)
	w := &worker{cancel: cancel, done: make(chan error, 1)}
	if mem == nil {
		go func() { w.done <- c.Run(wctx) }()
		return w, nil
	}
	memDone := make(chan struct{})
	go func() { defer close(memDone); _ = mem.Run(wctx) }()
	go func() {
		var err error
		select {
		case <-mem.Checked():
			err = c.Run(wctx)
		case <-wctx.Done():
		}
		cancel()
		<-memDone
		w.done <- err
	}()
	return w, nil
}

// stop ends the worker and waits until it has settled what it held.
func (w *worker) stop() error {
	w.cancel()
	return <-w.done
}
