package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/imgpredict/worker/consumer"
	"github.com/imgpredict/worker/internal/ctxtime"
	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/schemas"
)

// drain runs the worker on a backlog of n events until all n results are
// stored. A non-empty profile file gets a CPU profile of the run.
func (b *bench) drain(ctx context.Context, pred consumer.Predictor, cfg consumer.Config, n int, profile string) (throughput, error) {
	if err := b.fresh(ctx); err != nil {
		return throughput{}, err
	}
	if err := b.publishBacklog(ctx, "drain", n, ""); err != nil {
		return throughput{}, err
	}
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return throughput{}, fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return throughput{}, fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	return b.drainStored(ctx, n, func() (*worker, error) { return b.startWorker(ctx, pred, cfg) })
}

// drainStored times a worker that start starts on n stored events, from
// its start until all n results are stored.
func (b *bench) drainStored(ctx context.Context, n int, start func() (*worker, error)) (throughput, error) {
	t0, c0 := time.Now(), costNow()
	w, err := start()
	if err != nil {
		return throughput{}, err
	}
	_, _, err = b.waitStored(ctx, uint64(n-1), 10*time.Millisecond, time.Minute)
	t := measured(n, t0, c0)
	if err := errors.Join(err, w.stop()); err != nil {
		return throughput{}, err
	}
	return t, nil
}

// backlogRate runs the worker on a backlog larger than it can finish in
// window and measures results/s over about window. Both ends of the window
// are taken as a new batch of results lands, so that the rate spans whole
// batches.
func (b *bench) backlogRate(ctx context.Context, pred consumer.Predictor, cfg consumer.Config, backlog int, window time.Duration) (float64, error) {
	if err := b.fresh(ctx); err != nil {
		return 0, err
	}
	if err := b.publishBacklog(ctx, "rate", backlog, ""); err != nil {
		return 0, err
	}
	w, err := b.startWorker(ctx, pred, cfg)
	if err != nil {
		return 0, err
	}
	rate, err := b.rateOver(ctx, window)
	if err := errors.Join(err, w.stop()); err != nil {
		return 0, err
	}
	return rate, nil
}

func (b *bench) rateOver(ctx context.Context, window time.Duration) (float64, error) {
	c1, t1, err := b.landed(ctx, 0)
	if err != nil {
		return 0, err
	}
	if err := ctxtime.Sleep(ctx, time.Until(t1.Add(window))); err != nil {
		return 0, err
	}
	c, err := b.stored(ctx)
	if err != nil {
		return 0, err
	}
	c2, t2, err := b.landed(ctx, c)
	if err != nil {
		return 0, err
	}
	return float64(c2-c1) / t2.Sub(t1).Seconds(), nil
}

// landed waits for the next batch of results to land after above stored
// ones, and returns when it began landing and the count once all of it
// is in, so that a window never counts part of a batch.
func (b *bench) landed(ctx context.Context, above uint64) (uint64, time.Time, error) {
	const poll = 2 * time.Millisecond
	n, at, err := b.waitStored(ctx, above, poll, 30*time.Second)
	for err == nil {
		if err = ctxtime.Sleep(ctx, poll); err != nil {
			break
		}
		var again uint64
		if again, err = b.stored(ctx); err == nil && again == n {
			return n, at, nil
		}
		n = again
	}
	return 0, time.Time{}, err
}

// latencies are publish-to-result times at a light load.
type latencies struct {
	EventsPerS float64 `json:"events_per_s"`
	Events     int     `json:"events"`
	P50ms      float64 `json:"p50_ms"`
	P95ms      float64 `json:"p95_ms"`
	P99ms      float64 `json:"p99_ms"`
	Maxms      float64 `json:"max_ms"`
}

// lightLoad publishes events at rate for d while the worker runs, and
// times each from its publish to the arrival of its result. The publish
// time travels in the event's metadata, which the worker copies into the
// result.
func (b *bench) lightLoad(ctx context.Context, pred consumer.Predictor, cfg consumer.Config, rate float64, d time.Duration) (latencies, error) {
	if err := b.fresh(ctx); err != nil {
		return latencies{}, err
	}
	n := max(1, int(rate*d.Seconds()))
	var mu sync.Mutex
	lats := make([]time.Duration, 0, n)
	all := make(chan struct{})
	sub, err := b.drv.nc.Subscribe("predictions.>", func(m *nats.Msg) {
		now := time.Now()
		var r struct {
			Metadata struct {
				Sent int64 `json:"sent_ns"`
			} `json:"metadata"`
		}
		if json.Unmarshal(m.Data, &r) != nil || r.Metadata.Sent == 0 {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		lats = append(lats, now.Sub(time.Unix(0, r.Metadata.Sent)))
		if len(lats) == n {
			close(all)
		}
	})
	if err != nil {
		return latencies{}, fmt.Errorf("subscribe results: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()

	w, err := b.startWorker(ctx, pred, cfg)
	if err != nil {
		return latencies{}, err
	}
	err = b.paced(ctx, rate, n)
	if err == nil {
		select {
		case <-all:
		case <-time.After(30 * time.Second):
			err = errors.New("not every result arrived within 30s")
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if err := errors.Join(err, w.stop()); err != nil {
		return latencies{}, err
	}
	mu.Lock()
	defer mu.Unlock()
	return summarize(lats, rate), nil
}

// paced publishes n events at rate, each awaiting its PubAck.
func (b *bench) paced(ctx context.Context, rate float64, n int) error {
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	for i := range n {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
		meta := `{"sent_ns":` + strconv.FormatInt(time.Now().UnixNano(), 10) + `}`
		if _, err := b.drv.js.Publish(ctx, "images.bench.light", event("light-"+strconv.Itoa(i), meta)); err != nil {
			return fmt.Errorf("publish event %d: %w", i, err)
		}
	}
	return nil
}

func summarize(lats []time.Duration, rate float64) latencies {
	slices.Sort(lats)
	pct := func(p float64) float64 {
		if len(lats) == 0 {
			return 0
		}
		i := max(0, int(math.Ceil(p*float64(len(lats))))-1)
		return float64(lats[i]) / float64(time.Millisecond)
	}
	return latencies{EventsPerS: rate, Events: len(lats), P50ms: pct(0.50), P95ms: pct(0.95), P99ms: pct(0.99), Maxms: pct(1)}
}

// memoryRun is the process's RSS around draining one backlog, by the
// worker and by the ceiling loop, which holds as many messages at once.
type memoryRun struct {
	Backlog int       `json:"backlog"`
	Worker  rssFigure `json:"worker"`
	Ceiling rssFigure `json:"ceiling_loop"`
}

type rssFigure struct {
	BeforeMB float64 `json:"rss_before_mib"`
	PeakMB   float64 `json:"rss_peak_mib"`
	AfterMB  float64 `json:"rss_after_mib"`
	GrowthMB float64 `json:"rss_growth_mib"`
}

// memory drains a backlog of n events with the ceiling loop, then with
// the worker (instant predictor), and tracks the RSS of the whole process.
// The in-process server's own memory (file store caches, the results
// stream's duplicate ids) grows with the backlog in both runs; what the
// worker adds on top of the ceiling loop is its own.
func (b *bench) memory(ctx context.Context, n int) (memoryRun, error) {
	m := memoryRun{Backlog: n}
	body, err := resultSized()
	if err != nil {
		return m, fmt.Errorf("result: %w", err)
	}
	m.Ceiling, err = b.rss(ctx, n, func() error {
		_, err := b.ceilingLoop(ctx, n, body)
		return err
	})
	if err != nil {
		return m, fmt.Errorf("ceiling loop: %w", err)
	}
	m.Worker, err = b.rss(ctx, n, func() error {
		w, err := b.startWorker(ctx, instant{}, workerConfig())
		if err != nil {
			return err
		}
		_, _, err = b.waitStored(ctx, uint64(n-1), 20*time.Millisecond, 2*time.Minute)
		return errors.Join(err, w.stop())
	})
	if err != nil {
		return m, fmt.Errorf("worker: %w", err)
	}
	return m, nil
}

// rss stores a backlog of n events, then tracks RSS while drain runs. The
// baseline is taken after the backlog is stored, so the growth is what
// draining costs.
func (b *bench) rss(ctx context.Context, n int, drain func() error) (rssFigure, error) {
	if err := b.fresh(ctx); err != nil {
		return rssFigure{}, err
	}
	if err := b.publishBacklog(ctx, "memory", n, ""); err != nil {
		return rssFigure{}, err
	}
	runtime.GC()
	debug.FreeOSMemory()
	f := rssFigure{BeforeMB: procStatus(self, "VmRSS")}
	exact := resetPeakRSS(self)
	s := sampleRSS(ctx, 10*time.Millisecond)
	err := drain()
	f.PeakMB = s.end()
	if exact {
		f.PeakMB = max(f.PeakMB, procStatus(self, "VmHWM"))
	}
	f.AfterMB = procStatus(self, "VmRSS")
	f.GrowthMB = f.PeakMB - f.BeforeMB
	return f, err
}

// naive handles one event at a time: fetch one message, one predict call,
// one synchronous publish, one ack. It runs until the backlog of n is
// done or d has passed, and returns events/s.
func (b *bench) naive(ctx context.Context, pred consumer.Predictor, n int, d time.Duration) (float64, error) {
	if err := b.fresh(ctx); err != nil {
		return 0, err
	}
	if err := b.publishBacklog(ctx, "naive", n, ""); err != nil {
		return 0, err
	}
	cons, err := b.sut.js.CreateOrUpdateConsumer(ctx, inputStream, jetstream.ConsumerConfig{
		Durable: "naive", AckPolicy: jetstream.AckExplicitPolicy,
	})
	if err != nil {
		return 0, fmt.Errorf("naive consumer: %w", err)
	}
	start := time.Now()
	done := 0
	for done < n && time.Since(start) < d {
		if err := b.naiveOne(ctx, cons, pred); err != nil {
			return 0, err
		}
		done++
	}
	return float64(done) / time.Since(start).Seconds(), nil
}

func (b *bench) naiveOne(ctx context.Context, cons jetstream.Consumer, pred consumer.Predictor) error {
	msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		return fmt.Errorf("naive fetch: %w", err)
	}
	meta, err := msg.Metadata()
	if err != nil {
		return fmt.Errorf("naive metadata: %w", err)
	}
	ev, err := schemas.DecodeEvent(msg.Data())
	if err != nil {
		return fmt.Errorf("naive decode: %w", err)
	}
	if err := pred.Ready(ctx); err != nil {
		return err
	}
	out := pred.Predict(ctx, predictor.Request{Model: benchModel, Inputs: []predictor.Input{{ID: "in", URL: ev.Image.URL}}})
	if len(out) != 1 || out[0].Err != nil {
		return fmt.Errorf("naive predict: %v", out)
	}
	body, err := json.Marshal(resultFor(ev, meta, msg.Subject(), out[0].Prediction))
	if err != nil {
		return fmt.Errorf("naive encode: %w", err)
	}
	res := nats.NewMsg(resultSubject)
	res.Data = body
	res.Header.Set(jetstream.MsgIDHeader, "n-"+ev.ID)
	if _, err := b.sut.js.PublishMsg(ctx, res); err != nil {
		return fmt.Errorf("naive publish: %w", err)
	}
	if err := msg.Ack(); err != nil {
		return fmt.Errorf("naive ack: %w", err)
	}
	return nil
}
