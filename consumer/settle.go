package consumer

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/publisher"
)

// published is a message whose output is on its way to JetStream.
type published struct {
	it     *item
	fate   fate
	future jetstream.PubAckFuture // nil when the fate needs no output
}

// publish starts the publish the fate needs (a result or a dead letter).
func (c *Consumer) publish(ctx context.Context, it *item, f fate, p *predictor.Prediction) published {
	pb := published{it: it, fate: f}
	var err error
	switch f.kind {
	case publishResult:
		msgID := publisher.ResultMsgID(it.event.ID, schemaModel(it.group.Model))
		pb.future, err = c.pub.Result(ctx, it.result(p, time.Now()), msgID)
	case deadLetter:
		pb.future, err = c.pub.DeadLetter(ctx, it.deadLetter(f, time.Now()), publisher.DeadLetterMsgID(it.source()))
	}
	if err != nil {
		pb.fate = c.publishFailed(it, err)
	}
	return pb
}

var errPublishTimeout = errors.New("no PubAck in time")

// publishFailed: without a stored output the message must come back.
func (c *Consumer) publishFailed(it *item, err error) fate {
	if lostConsumer(err) {
		c.rebind.Store(true) // an output stream may have vanished
	}
	c.log.Warn().Err(err).Stringer("msg", it).Msg("publish failed; the event will be redelivered")
	return fate{kind: retryLater, delay: c.cfg.NakDelayBase, description: err.Error()}
}

// finish waits for the output's PubAck, then acks, terms or naks the
// input message: the only place that settles messages. ctx bounds the
// wait; see publishCtx.
func (c *Consumer) finish(ctx context.Context, pb published) {
	it, f := pb.it, pb.fate
	if pb.future != nil {
		select {
		case <-pb.future.Ok():
		case err := <-pb.future.Err():
			f = c.publishFailed(it, err)
		case <-ctx.Done():
			if errors.Is(context.Cause(ctx), errPublishTimeout) { // a PubAck lost with the connection
				f = c.publishFailed(it, errPublishTimeout)
			} else {
				f = fate{kind: handBack, description: "shutdown before the output was stored"}
			}
		}
	}
	var err error
	switch f.kind {
	case publishResult:
		err = it.msg.Ack()
		c.metrics.results.Inc()
	case deadLetter:
		err = it.msg.TermWithReason(f.reason)
		c.metrics.deadLetters.WithLabelValues(f.reason).Inc()
		c.log.Warn().Str("event_id", it.event.ID).Stringer("msg", it).Str("reason", f.reason).
			Uint32("code", f.code).Str("description", f.description).Msg("dead letter")
	case retryLater:
		err = it.msg.NakWithDelay(f.delay)
		c.metrics.redeliveries.WithLabelValues("transient").Inc()
		c.log.Info().Str("event_id", it.event.ID).Stringer("msg", it).Dur("delay", f.delay).
			Uint64("deliveries", it.meta.NumDelivered).Str("cause", f.description).Msg("retry later")
	case handBack:
		err = it.msg.Nak()
		c.metrics.redeliveries.WithLabelValues("shutdown").Inc()
	}
	if err != nil && !errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
		// The server redelivers after AckWait; the output is deduplicated.
		c.log.Warn().Err(err).Stringer("msg", it).Msg("settle")
	}
	c.metrics.latency.Observe(time.Since(it.arrived).Seconds())
	c.held.remove(it)
	c.bytes.release(it.bytes)
	c.slots.release(1)
}

// settle settles a message that never went through a call.
func (c *Consumer) settle(ctx context.Context, it *item, f fate) {
	ctx, cancel := c.publishCtx(ctx)
	defer cancel()
	c.finish(ctx, c.publish(ctx, it, f, nil))
}

// publishCtx bounds the wait for PubAcks: one timer for a whole batch
// rather than one per message.
func (c *Consumer) publishCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, c.cfg.PublishTimeout, errPublishTimeout)
}
