package consumer

import (
	"context"
	"errors"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/imgpredict/worker/internal/ctxtime"
	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/schemas"
)

// output is what a task's fate leaves: a result or a dead letter on its
// way to JetStream, or nothing (retry, hand back).
type output struct {
	t    *task
	f    fate
	pred *predictor.Prediction // publishResult

	result *schemas.Result // built once, kept for publish retries
	dead   *schemas.DeadLetter
	future jetstream.PubAckFuture
	ack    *jetstream.PubAck // once stored
	err    error
	span   trace.Span // from the first publish to stored; nil when not traced
}

func (o *output) publishes() bool { return o.f.kind == publishResult || o.f.kind == deadLetter }

// reasoned is an output error that no retry can cure and that says why in
// a reason word, such as the publisher's result_too_large.
type reasoned interface {
	error
	Reason() string
}

var errNoPubAck = errors.New("no PubAck in time")

// deliver publishes the outputs the fates need, waits for their PubAcks
// under one deadline, and ends each task. An output that could not be
// stored is published again in the background, the task still held: a
// prediction is never thrown away because its output failed to store.
func (c *Consumer) deliver(ctx context.Context, outs []output) {
	now := time.Now()
	for i := range outs {
		if outs[i].publishes() {
			c.send(ctx, &outs[i], now)
		}
	}
	actx, cancel := context.WithTimeoutCause(ctx, c.cfg.PublishTimeout, errNoPubAck)
	defer cancel()
	for i := range outs {
		o := &outs[i]
		switch {
		case !o.publishes():
			c.endTask(o.t, o.f)
		case o.err == nil && pubAck(actx, o) == nil:
			c.stored(ctx, o)
		default:
			c.wg.Go(func() { c.republish(ctx, o) })
		}
	}
}

// send builds the output (once) and starts its publish; the message
// carries the trace of its publish span.
func (c *Consumer) send(ctx context.Context, o *output, now time.Time) {
	o.future = nil
	if o.span == nil {
		o.span = c.child(o.t.m, "publish", attribute.Bool("worker.dead_letter", o.f.kind == deadLetter))
	}
	if o.span != nil {
		ctx = trace.ContextWithSpan(ctx, o.span)
	}
	if o.f.kind == publishResult {
		if o.result == nil {
			o.result = o.t.result(o.pred, now)
		}
		o.future, o.err = c.pub.Result(ctx, o.result, schemaModel(o.t.asked))
		return
	}
	if o.dead == nil {
		o.dead = o.t.deadLetter(o.f, now)
	}
	o.future, o.err = c.pub.DeadLetter(ctx, o.dead)
}

// pubAck waits for o's PubAck until ctx ends, and records the error. A
// PubAck that has arrived always wins over a deadline that has passed.
func pubAck(ctx context.Context, o *output) error {
	f := o.future
	select {
	case o.ack = <-f.Ok():
		o.err = nil
		return nil
	case o.err = <-f.Err():
		return o.err
	case <-ctx.Done():
	}
	select {
	case o.ack = <-f.Ok():
		o.err = nil
	case o.err = <-f.Err():
	default:
		o.err = context.Cause(ctx)
	}
	return o.err
}

// republish publishes o again with growing pauses until it is stored, or
// until ctx (the worker's finishing time) ends and the task is handed
// back. The message stays held meanwhile, kept alive with InProgress, so
// no delivery is used up. A result that can never be stored becomes a
// dead letter with the reason the publisher gave.
func (c *Consumer) republish(ctx context.Context, o *output) {
	bo := backoff.NewExponentialBackOff(backoff.WithInitialInterval(200*time.Millisecond),
		backoff.WithMaxInterval(c.cfg.PublishRetryMax), backoff.WithMaxElapsedTime(0))
	for attempt := 1; ; attempt++ {
		var r reasoned
		if errors.As(o.err, &r) && o.f.kind == publishResult {
			o.f = dead(r.Reason(), r.Error())
			o.result = nil
		} else {
			wait := bo.NextBackOff()
			if attempt == 1 || attempt%10 == 0 {
				c.log.Warn().Err(o.err).Stringer("msg", o.t.m).Str("event_id", o.t.m.event.ID).Int("attempt", attempt).
					Stringer("retry_in", wait).Msg("output not stored; holding the event and publishing again")
			}
			c.metrics.publishRetries.Inc()
			if ctxtime.Sleep(ctx, wait) != nil {
				if o.span != nil {
					o.span.SetStatus(codes.Error, "shutdown before the output was stored")
					o.span.End()
				}
				c.endTask(o.t, shutdown("shutdown before the output was stored"))
				return
			}
		}
		c.send(ctx, o, time.Now())
		if o.err == nil {
			actx, cancel := context.WithTimeoutCause(ctx, c.cfg.PublishTimeout, errNoPubAck)
			_ = pubAck(actx, o)
			cancel()
		}
		if o.err == nil {
			c.stored(ctx, o)
			return
		}
	}
}

// stored counts and logs an output JetStream has stored, remembers it,
// answers the tasks that waited on it, and ends its task.
func (c *Consumer) stored(ctx context.Context, o *output) {
	if o.span != nil {
		o.span.End()
	}
	if o.f.kind == publishResult {
		c.metrics.results.Inc()
		c.answerTwins(ctx, o.t, c.remember(o))
	} else {
		c.metrics.deadLetters.WithLabelValues(o.f.reason).Inc()
		c.log.Warn().Str("event_id", o.t.m.event.ID).Stringer("msg", o.t.m).Str("reason", o.f.reason).
			Uint32("code", o.f.code).Str("description", o.f.description).Msg("dead letter")
	}
	c.endTask(o.t, o.f)
}

// endTask records how t ended; the message's last task settles it.
func (c *Consumer) endTask(t *task, f fate) {
	c.releaseTwins(t)
	if s, ok := t.m.end(f); ok {
		c.ledger.settle(t.m, s)
	}
}

// endAll ends tasks that need no output, such as on shutdown.
func (c *Consumer) endAll(tasks []*task, f fate) {
	for _, t := range tasks {
		c.endTask(t, f)
	}
}
