package consumer

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/imgpredict/worker/predictor"
)

// pauser holds the worker while the account cannot call at all (a revoked
// PAT, a missing scope, a used-up quota, billing): that is no event's
// fault, so nothing becomes a dead letter. Tasks that failed so are
// parked, held with InProgress like any other, no delivery spent; pulls
// and calls stop, the durable consumer is paused for every replica, and
// one parked task at a time is tried again, at growing intervals, until a
// call goes through. Then the consumer is resumed and the parked tasks go
// back to the batcher. Its state belongs to its mutex.
type pauser struct {
	mu      sync.Mutex
	cause   *predictor.Error // nil while running
	parked  []*task
	running chan struct{} // closed while not paused
	stopped chan struct{} // closed while paused
	wake    chan struct{} // probe now: another replica resumed the consumer
}

func newPauser() *pauser {
	p := &pauser{running: make(chan struct{}), stopped: make(chan struct{}), wake: make(chan struct{}, 1)}
	close(p.running)
	return p
}

// wait blocks while the worker is paused, until ctx ends; it reports
// whether the worker runs.
func (p *pauser) wait(ctx context.Context) bool {
	p.mu.Lock()
	running := p.running
	p.mu.Unlock()
	select {
	case <-running:
		return true
	case <-ctx.Done():
		return false
	}
}

// paused says why the worker is paused, nil when it runs, and returns a
// channel closed once it is paused.
func (p *pauser) paused() (*predictor.Error, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cause, p.stopped
}

// park holds tasks whose call failed for the whole account, pausing the
// worker if it was running; it reports whether this started the pause.
func (p *pauser) park(tasks []*task, cause *predictor.Error) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.parked = append(p.parked, tasks...)
	if p.cause != nil {
		return false
	}
	p.cause = cause
	p.running = make(chan struct{})
	close(p.stopped)
	return true
}

// next takes a parked task to probe with; nil when none is parked.
func (p *pauser) next() *task {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.parked) == 0 {
		return nil
	}
	t := p.parked[0]
	p.parked = p.parked[1:]
	return t
}

// resume ends the pause and returns the parked tasks.
func (p *pauser) resume() []*task {
	p.mu.Lock()
	defer p.mu.Unlock()
	tasks := p.parked
	p.parked = nil
	if p.cause != nil {
		p.cause = nil
		p.stopped = make(chan struct{})
		close(p.running)
	}
	return tasks
}

// poke asks for a probe at once, as when another replica resumed the
// consumer.
func (p *pauser) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

var errBrokenPredictor = errors.New("the predictor returned no outcome for the input")

// Paused says why the worker is paused ("" when it is not): the account
// cannot make calls, for the reason word given.
func (c *Consumer) Paused() string {
	if cause, _ := c.pause.paused(); cause != nil {
		return cause.Reason
	}
	return ""
}

// parkAll holds tasks that failed for the whole account and, when this
// starts the pause, pauses the durable consumer and says so.
func (c *Consumer) parkAll(ctx context.Context, tasks []*task, cause *predictor.Error) {
	if !c.pause.park(tasks, cause) {
		return
	}
	c.metrics.paused.WithLabelValues(cause.Reason).Set(1)
	c.log.Error().Str("reason", cause.Reason).Uint32("code", cause.Code).Str("description", cause.Description).
		Msg("the Clarifai account cannot make calls: pausing every replica, probing until it can")
	c.pauseConsumer(ctx)
}

// pauseConsumer pauses the durable consumer on the server, so that no
// replica pulls, until a while after the longest probe interval: should
// the whole fleet stop meanwhile, the server resumes it by itself.
func (c *Consumer) pauseConsumer(ctx context.Context) {
	until := time.Now().Add(2 * c.cfg.PauseProbeMax)
	if _, err := c.js.PauseConsumer(ctx, c.streamName(), c.cfg.Durable, until); err != nil {
		c.log.Warn().Err(err).Msg("pausing the consumer on the server failed (it needs nats-server 2.11): only this replica stops")
	}
}

// probeLoop runs until ctx ends. While the worker is paused it calls with
// one parked task at growing intervals (PauseProbeMin doubling to
// PauseProbeMax), and at once when another replica resumed the consumer.
// finishCtx bounds the calls and publishes it makes.
func (c *Consumer) probeLoop(ctx, finishCtx context.Context, out chan<- *task) {
	for {
		cause, stopped := c.pause.paused()
		if cause == nil {
			select {
			case <-ctx.Done():
				return
			case <-stopped:
			}
			continue
		}
		for wait := c.cfg.PauseProbeMin; ; wait = min(2*wait, c.cfg.PauseProbeMax) {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			case <-c.pause.wake:
				t.Stop()
			}
			if c.probe(ctx, finishCtx, out) {
				break
			}
		}
	}
}

// probe calls with one parked task and reports whether the account can
// call again, in which case it resumes everything.
func (c *Consumer) probe(ctx, finishCtx context.Context, out chan<- *task) bool {
	t := c.pause.next()
	if t == nil {
		return false
	}
	req, _ := request([]*task{t})
	outs := c.pred.Predict(finishCtx, req)
	if len(outs) != 1 {
		outs = []predictor.Outcome{{Err: errBrokenPredictor}}
	}
	if predictor.IsAccount(outs[0].Err) {
		c.pause.park([]*task{t}, nil)
		c.pauseConsumer(finishCtx) // again: the pause may outlast its deadline
		c.log.Debug().Err(outs[0].Err).Msg("probe: the account still cannot make calls")
		return false
	}
	f := decide(outs[0], t.m.meta.NumDelivered, &c.cfg, finishCtx.Err() != nil)
	c.resumeAll(ctx, finishCtx, out)
	c.deliver(finishCtx, []output{{t: t, f: f, pred: outs[0].Prediction}})
	return true
}

// resumeAll ends the pause: the consumer on the server resumes, and the
// parked tasks go back to the batcher (ctx ends when the worker stops
// pulling, finishCtx bounds the server call).
func (c *Consumer) resumeAll(ctx, finishCtx context.Context, out chan<- *task) {
	cause, _ := c.pause.paused()
	tasks := c.pause.resume()
	if cause == nil {
		return
	}
	c.metrics.paused.WithLabelValues(cause.Reason).Set(0)
	if _, err := c.js.ResumeConsumer(finishCtx, c.streamName(), c.cfg.Durable); err != nil {
		c.log.Warn().Err(err).Msg("resume the consumer on the server")
	}
	c.log.Info().Str("reason", cause.Reason).Int("parked", len(tasks)).Msg("the Clarifai account makes calls again: resumed")
	c.wg.Go(func() { c.forward(ctx, tasks, out) })
}
