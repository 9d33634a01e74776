package consumer

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"

	"github.com/imgpredict/worker/imageprep"
	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/schemas"
)

// Predictor turns a group of inputs into one outcome per input.
type Predictor interface {
	// Ready blocks until a call could start without waiting for quota,
	// so that the batch is formed at the last moment.
	Ready(ctx context.Context) error
	// Predict returns len(req.Inputs) outcomes, in input order.
	Predict(ctx context.Context, req predictor.Request) []predictor.Outcome
}

// Publisher stores outputs. It chooses their subjects and message ids.
// The returned futures resolve once JetStream has stored the message (or
// failed to). An error that can never pass and has a reason word (a
// result too large to store) implements Reason() string.
type Publisher interface {
	// Result publishes the result of the model asked (defaults filled).
	Result(ctx context.Context, r *schemas.Result, asked schemas.Model) (jetstream.PubAckFuture, error)
	DeadLetter(ctx context.Context, d *schemas.DeadLetter) (jetstream.PubAckFuture, error)
}

// Consumer pulls events, predicts them in batches and publishes outputs.
type Consumer struct {
	js      jetstream.JetStream
	pred    Predictor
	pub     Publisher
	cfg     Config
	log     zerolog.Logger
	metrics *metrics
	ledger  *ledger
	memory  Memory // nil: no records and no cache
	pause   *pauser
	twins   *twins
	tracer  trace.Tracer       // nil: nothing is traced
	fetcher *imageprep.Fetcher // nil unless the worker downloads URL images
	decodes chan struct{}      // a slot per image decoded at once

	defaultKey string         // groupKey of events that name no model or output config
	wg         sync.WaitGroup // goroutines that publish and settle
	bound      atomic.Bool
	rebind     atomic.Bool
	current    atomic.Pointer[jetstream.Consumer]
}

// New returns a consumer. reg may be nil.
func New(js jetstream.JetStream, pred Predictor, pub Publisher, cfg Config, log zerolog.Logger, reg prometheus.Registerer, opts ...Option) (*Consumer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log = log.With().Str("component", "consumer").Logger()
	c := &Consumer{
		js: js, pred: pred, pub: pub, cfg: cfg, log: log,
		defaultKey: groupKey(cfg.DefaultModel, predictor.OutputConfig{}),
		pause:      newPauser(),
		twins:      newTwins(),
		decodes:    make(chan struct{}, runtime.GOMAXPROCS(0)),
	}
	if cfg.Image.FetchURLs {
		f, err := imageprep.NewFetcher(cfg.Image.Fetch, log)
		if err != nil {
			return nil, err
		}
		c.fetcher = f
	}
	c.metrics = newMetrics(reg, func() float64 { return float64(c.ledger.count()) }, func() float64 { return float64(c.ledger.bytes.inUse()) })
	c.ledger = newLedger(&c.cfg, log, c.metrics)
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Ready reports whether the consumer is bound to its durable consumer.
func (c *Consumer) Ready() bool { return c.bound.Load() }

// Run binds the durable consumer and consumes until ctx ends; then it
// stops pulling, hands back what is not yet in a call, lets calls and
// publishes under way finish for up to ShutdownWait, hands back the rest,
// and returns once every message it held is settled. It returns an error
// wrapping ErrInvalidConfig, at once, when the configuration can never
// work; nil after a shutdown.
func (c *Consumer) Run(ctx context.Context) error {
	cons, err := c.bindAtStart(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	c.setCurrent(cons)
	largest := c.largestMessage()
	if c.ledger.bytes.raise(largest) {
		c.log.Warn().Int64("bytes", largest).Msg("WORKER_MAX_PENDING_BYTES raised to fit the largest message the server accepts")
	}
	// finishCtx outlives ctx by up to ShutdownWait, so that calls and
	// publishes under way can finish.
	finishCtx, stopFinishing := context.WithCancel(context.WithoutCancel(ctx))
	defer stopFinishing()

	tasks := make(chan *task, c.cfg.BatchSize) // buffered: no goroutine switch per task
	want := make(chan struct{})
	batches := make(chan []*task)
	topUps := make(chan topUp)
	var stages sync.WaitGroup
	stages.Go(func() { c.fetchLoop(ctx, finishCtx, cons, tasks) })
	stages.Go(func() { c.batchLoop(ctx, tasks, want, batches, topUps) })
	stages.Go(func() { c.dispatchLoop(ctx, finishCtx, want, batches, topUps) })
	stages.Go(func() { c.watchConsumer(ctx) })
	stages.Go(func() { c.ledger.keepAlive(finishCtx) })
	stages.Go(func() { c.probeLoop(ctx, finishCtx, tasks) })
	stages.Go(func() { c.twinLoop(ctx, tasks) })

	c.log.Info().Str("consumer", c.cfg.Durable).Int("batch_size", c.cfg.BatchSize).
		Stringer("batch_wait", c.cfg.BatchWait).Int("max_inflight", c.cfg.MaxInflight).Msg("consuming")
	<-ctx.Done()
	c.endAll(c.pause.resume(), shutdown("shutting down while the account cannot make calls"))
	// Tasks can still reach the batcher's channel after it stopped.
	c.wg.Go(func() {
		for {
			select {
			case t := <-tasks:
				c.endTask(t, shutdown("shutting down before the call"))
			case <-finishCtx.Done():
				return
			}
		}
	})
	select {
	case <-c.ledger.drained():
	case <-time.After(c.cfg.ShutdownWait):
		c.log.Warn().Int("held", c.ledger.count()).Msg("shutdown wait over; handing back what is left")
	}
	stopFinishing()
	stages.Wait()
	c.endAll(c.pause.resume(), shutdown("shutting down while the account cannot make calls")) // a probe's task
	c.wg.Wait()
	for len(tasks) > 0 {
		c.endTask(<-tasks, shutdown("shutting down before the call"))
	}
	c.bound.Store(false)
	c.log.Info().Msg("consumer stopped")
	return nil
}
