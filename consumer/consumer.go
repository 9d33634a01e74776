package consumer

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

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

// Publisher stores outputs. The returned futures resolve once JetStream
// has stored the message (or failed to).
type Publisher interface {
	Result(ctx context.Context, r *schemas.Result, msgID string) (jetstream.PubAckFuture, error)
	DeadLetter(ctx context.Context, d *schemas.DeadLetter, msgID string) (jetstream.PubAckFuture, error)
}

// Consumer pulls events, predicts them in batches and publishes outputs.
type Consumer struct {
	js      jetstream.JetStream
	pred    Predictor
	pub     Publisher
	cfg     Config
	log     zerolog.Logger
	metrics *metrics

	slots      slots
	bytes      *budget
	held       heldSet
	defaultKey string         // groupKey of events that name no model or output config
	wg         sync.WaitGroup // goroutines that settle messages
	bound      atomic.Bool
	rebind     atomic.Bool
	current    atomic.Pointer[jetstream.Consumer]
}

// New returns a consumer. reg may be nil.
func New(js jetstream.JetStream, pred Predictor, pub Publisher, cfg Config, log zerolog.Logger, reg prometheus.Registerer) (*Consumer, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Consumer{
		js: js, pred: pred, pub: pub, cfg: cfg,
		log:        log.With().Str("component", "consumer").Logger(),
		slots:      newSlots(cfg.MaxPending),
		bytes:      newBudget(cfg.MaxPendingBytes),
		defaultKey: groupKey(cfg.DefaultModel, predictor.OutputConfig{}),
	}
	c.metrics = newMetrics(reg, func() float64 { return float64(c.held.len()) }, func() float64 { return float64(c.bytes.inUse()) })
	return c, nil
}

// Ready reports whether the consumer is bound to its durable consumer.
func (c *Consumer) Ready() bool { return c.bound.Load() }

// Run consumes until ctx ends, then stops pulling, hands back the events
// not yet in a call, lets calls under way finish for up to ShutdownWait,
// and returns once every message it held is settled.
func (c *Consumer) Run(ctx context.Context) error {
	// work outlives ctx by up to ShutdownWait, so that calls and
	// publishes under way can finish.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()

	if _, err := c.bind(ctx); err != nil {
		c.log.Warn().Err(err).Msg("bind at start failed; retrying in the background")
	}

	// Buffered, so that handing items over costs no goroutine switch each.
	items := make(chan *item, c.cfg.BatchSize)
	take := make(chan chan []*item)
	reply := make(chan []*item, 1)
	var stages sync.WaitGroup
	stages.Go(func() { c.fetchLoop(ctx, work, items) })
	stages.Go(func() { c.batchLoop(ctx, work, items, take) })
	stages.Go(func() { c.dispatchLoop(ctx, work, take, reply) })
	stages.Go(func() { c.watchConsumer(ctx) })
	go c.keepAlive(work)

	c.log.Info().Str("stream", c.cfg.Stream).Str("consumer", c.cfg.Durable).
		Int("batch_size", c.cfg.BatchSize).Dur("batch_wait", c.cfg.BatchWait).
		Int("max_inflight", c.cfg.MaxInflight).Msg("consuming")
	<-ctx.Done()
	stages.Wait()
	select { // a batch handed over as the dispatcher stopped
	case b := <-reply:
		c.handBackAll(work, b)
	default:
	}
	c.handBackAll(work, drain(items))

	settled := make(chan struct{})
	go func() { c.wg.Wait(); close(settled) }()
	select {
	case <-settled:
	case <-time.After(c.cfg.ShutdownWait):
		c.log.Warn().Int("held", c.held.len()).Msg("shutdown wait over; handing back what is left")
		cancelWork()
		<-settled
	}
	c.handBackAll(work, drain(items)) // from Object Store reads that ended late
	c.bound.Store(false)
	c.log.Info().Msg("consumer stopped")
	return nil
}

// batchLoop owns the pending items. When the dispatcher asks for a batch,
// it answers as soon as a group is due.
func (c *Consumer) batchLoop(ctx, work context.Context, in <-chan *item, take <-chan chan []*item) {
	p := newPending(c.cfg.BatchSize, c.cfg.BatchWait)
	var waiter chan []*item
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var wake <-chan time.Time
		if waiter != nil {
			key, next := p.due(time.Now())
			if key != "" {
				waiter <- p.take(key)
				waiter = nil
				continue
			}
			if next >= 0 {
				timer.Reset(next)
				wake = timer.C
			}
		}
		select {
		case it := <-in:
			p.add(it)
		case w := <-take:
			waiter = w
		case <-wake:
		case <-ctx.Done():
			c.handBackAll(work, p.drain())
			return
		}
	}
}

// dispatchLoop starts a call whenever a call slot and quota are free,
// taking the batch only then, so that it fills while it waits.
func (c *Consumer) dispatchLoop(ctx, work context.Context, take chan<- chan []*item, reply chan []*item) {
	inflight := make(chan struct{}, c.cfg.MaxInflight)
	for {
		select {
		case inflight <- struct{}{}:
		case <-ctx.Done():
			return
		}
		if err := c.pred.Ready(ctx); err != nil {
			return
		}
		select {
		case take <- reply:
		case <-ctx.Done():
			return
		}
		var batch []*item
		select {
		case batch = <-reply:
		case <-ctx.Done():
			return
		}
		c.metrics.inflight.Inc()
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.call(work, batch, func() {
				c.metrics.inflight.Dec()
				<-inflight
			})
		}()
	}
}

// call predicts one batch and settles every item of it.
func (c *Consumer) call(ctx context.Context, batch []*item, done func()) {
	req := batch[0].group
	req.Inputs = make([]predictor.Input, len(batch))
	for i, it := range batch {
		req.Inputs[i] = it.input
	}
	outs := c.pred.Predict(ctx, req)
	done()
	if len(outs) != len(batch) { // a broken predictor must not lose events
		err := fmt.Errorf("predictor returned %d outcomes for %d inputs", len(outs), len(batch))
		c.log.Error().Err(err).Msg("predict")
		outs = make([]predictor.Outcome, len(batch))
		for i := range outs {
			outs[i].Err = err
		}
	}
	pctx, cancel := c.publishCtx(ctx)
	defer cancel()
	pubs := make([]published, len(batch))
	for i, it := range batch {
		f := decide(outs[i].Err, it.meta.NumDelivered, &c.cfg)
		pubs[i] = c.publish(pctx, it, f, outs[i].Prediction)
	}
	for _, p := range pubs {
		c.finish(pctx, p)
	}
}

// drain empties the items channel once nobody receives from it.
func drain(items chan *item) []*item {
	var left []*item
	for {
		select {
		case it := <-items:
			left = append(left, it)
		default:
			return left
		}
	}
}

func (c *Consumer) handBackAll(ctx context.Context, items []*item) {
	for _, it := range items {
		c.finish(ctx, published{it: it, fate: fate{kind: handBack, description: "shutting down"}})
	}
}
