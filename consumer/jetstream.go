package consumer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/imgpredict/worker/schemas"
)

// EnsureStream creates the stream when it is missing. An existing stream
// is used as it is: never reconfigured, never deleted.
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) error {
	_, err := js.Stream(ctx, cfg.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = js.CreateStream(ctx, cfg)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return nil // another replica was faster
		}
	}
	if err != nil {
		return fmt.Errorf("stream %s: %w", cfg.Name, err)
	}
	return nil
}

// bind makes sure the streams and the durable consumer exist.
func (c *Consumer) bind(ctx context.Context) (jetstream.Consumer, error) {
	if c.cfg.CreateStreams {
		in := jetstream.StreamConfig{
			Name:        c.cfg.Stream,
			Description: "image events for the predict worker",
			Subjects:    c.cfg.Subjects,
			Storage:     jetstream.FileStorage,
			Replicas:    c.cfg.Replicas,
		}
		for _, s := range append([]jetstream.StreamConfig{in}, c.cfg.OutputStreams...) {
			if err := EnsureStream(ctx, c.js, s); err != nil {
				return nil, err
			}
		}
	}
	cons, err := c.js.CreateOrUpdateConsumer(ctx, c.cfg.Stream, jetstream.ConsumerConfig{
		Durable:        c.cfg.Durable,
		Description:    "image predict worker",
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        c.cfg.AckWait,
		MaxDeliver:     -1, // the worker dead-letters on its own last delivery
		MaxAckPending:  c.cfg.MaxAckPending,
		FilterSubjects: c.cfg.Subjects,
		Replicas:       0, // as the stream
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s on %s: %w", c.cfg.Durable, c.cfg.Stream, err)
	}
	return cons, nil
}

// lostConsumer reports errors after which the consumer must be bound again.
func lostConsumer(err error) bool {
	return errors.Is(err, jetstream.ErrConsumerNotFound) ||
		errors.Is(err, jetstream.ErrConsumerDeleted) ||
		errors.Is(err, jetstream.ErrStreamNotFound) ||
		errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrNoStreamResponse)
}

// fetchLoop pulls messages while there are free slots, until ctx ends.
func (c *Consumer) fetchLoop(ctx, work context.Context, out chan<- *item) {
	var cons jetstream.Consumer
	bo := backoff.NewExponentialBackOff(backoff.WithMaxInterval(5*time.Second), backoff.WithMaxElapsedTime(0))
	pause := func(err error, what string) {
		d := bo.NextBackOff()
		c.log.Warn().Err(err).Dur("retry_in", d).Msg(what)
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
	}
	var byBytes bool
	for ctx.Err() == nil {
		if cons == nil || c.rebind.Swap(false) {
			var err error
			if cons, err = c.bind(ctx); err != nil {
				c.bound.Store(false)
				pause(err, "bind consumer")
				continue
			}
			bound := cons
			c.current.Store(&bound)
			c.bound.Store(true)
			byBytes = !replicated(cons)
		}
		n, err := c.slots.acquireUpTo(ctx, 2*c.cfg.BatchSize)
		if err != nil {
			return
		}
		// Room for at least one message of the largest size the server takes.
		largest := min(c.cfg.MaxPendingBytes, c.js.Conn().MaxPayload()+4<<10)
		maxBytes, err := c.bytes.waitFree(ctx, largest)
		if err != nil {
			c.slots.release(n)
			return
		}
		if !byBytes { // no byte limit: as many messages of the largest size as fit
			fit := int(min(int64(n), maxBytes/largest))
			c.slots.release(n - fit)
			n, maxBytes = fit, 0
		}
		got, err := c.fetch(ctx, work, cons, n, maxBytes, out)
		c.slots.release(n - got)
		switch {
		case err == nil:
			bo.Reset()
		case lostConsumer(err):
			c.bound.Store(false)
			cons = nil
			pause(err, "consumer lost, binding again")
		default:
			pause(err, "fetch")
		}
	}
}

// replicated reports whether the consumer has replicas. Pulls from one
// must not set a byte limit: a replicated consumer sends each message only
// once its delivery is replicated, but sends at once the "409 Batch
// Completed" that ends a filled byte-limited pull. The status overtakes
// the messages, Fetch ends on it, and the messages go unread until
// AckWait, again on every redelivery: a livelock under backlog
// (nats-server 2.15.2; its 408 at expiry does wait for the messages).
func replicated(cons jetstream.Consumer) bool {
	info := cons.CachedInfo()
	if info == nil {
		return true // unknown: the safe kind of pull
	}
	return info.Config.Replicas > 1 || info.Cluster != nil && len(info.Cluster.Replicas) > 0
}

// fetch sends one pull request for up to n messages and, unless maxBytes
// is 0, up to maxBytes bytes. It hands each message to intake as it
// arrives and returns how many arrived.
func (c *Consumer) fetch(ctx, work context.Context, cons jetstream.Consumer, n int, maxBytes int64, out chan<- *item) (int, error) {
	fctx, cancel := context.WithTimeout(ctx, c.cfg.FetchMaxWait)
	defer cancel()
	opts := []jetstream.FetchOpt{jetstream.FetchContext(fctx)}
	if maxBytes > 0 {
		opts = append(opts, jetstream.FetchMaxBytes(int(maxBytes)))
	}
	batch, err := cons.Fetch(n, opts...)
	if err != nil {
		return 0, err
	}
	got := 0
	for msg := range batch.Messages() {
		got++
		if len(msg.Data()) > largeMessage { // decoding it must not hold up the others
			c.wg.Go(func() { c.intake(ctx, work, msg, out) })
			continue
		}
		c.intake(ctx, work, msg, out)
	}
	err = batch.Error()
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrBatchCompleted) {
		err = nil // the pull request simply expired or was filled
	}
	return got, err
}

// largeMessage is the size above which a message is taken in off the
// fetch loop: the messages behind it must not wait for it.
const largeMessage = 256 << 10

// intake decodes one message and sends it on to the batcher, or settles it
// at once when it can never be predicted.
func (c *Consumer) intake(ctx, work context.Context, msg jetstream.Msg, out chan<- *item) {
	meta, err := msg.Metadata()
	if err != nil { // not a JetStream message: nothing to ack
		c.log.Error().Err(err).Str("subject", msg.Subject()).Msg("message without metadata")
		c.slots.release(1)
		return
	}
	c.metrics.received.Inc()
	it := &item{msg: msg, meta: meta, arrived: time.Now(), bytes: int64(len(msg.Data()) + len(msg.Subject()))}
	c.bytes.add(it.bytes)
	c.held.add(it)

	ev, err := schemas.DecodeEvent(msg.Data())
	if err != nil {
		var inv *schemas.InvalidEventError
		if errors.As(err, &inv) {
			it.event.ID = inv.EventID
			c.settleAlone(work, it, fate{kind: deadLetter, reason: inv.Reason, description: inv.Description})
		} else {
			c.settleAlone(work, it, fate{kind: deadLetter, reason: schemas.ReasonInvalidJSON, description: err.Error()})
		}
		return
	}
	it.event = ev
	if meta.NumDelivered > uint64(c.cfg.MaxDeliver) { // e.g. its earlier deliveries crashed workers
		c.settleAlone(work, it, fate{kind: deadLetter, reason: reasonMaxDeliveries,
			description: fmt.Sprintf("delivered %d times, more than WORKER_MAX_DELIVER=%d", meta.NumDelivered, c.cfg.MaxDeliver)})
		return
	}
	if ref := ev.Image.Object; ref != nil {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			if f, ok := c.loadObject(ctx, it, ref); !ok {
				c.settle(work, it, f)
				return
			}
			c.forward(ctx, work, it, out)
		}()
		return
	}
	c.forward(ctx, work, it, out)
}

func (c *Consumer) forward(ctx, work context.Context, it *item, out chan<- *item) {
	it.prepare(c.cfg.DefaultModel, c.defaultKey)
	select {
	case out <- it:
	case <-ctx.Done():
		c.settle(work, it, fate{kind: handBack, description: "shutting down"})
	}
}

// settleAlone settles an item that never reaches a call, off the fetch loop.
func (c *Consumer) settleAlone(ctx context.Context, it *item, f fate) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.settle(ctx, it, f)
	}()
}

// loadObject reads the event's image from the Object Store into the item.
func (c *Consumer) loadObject(ctx context.Context, it *item, ref *schemas.ObjectRef) (fate, bool) {
	store, err := c.js.ObjectStore(ctx, ref.Bucket)
	if err == nil {
		var info *jetstream.ObjectInfo
		if info, err = store.GetInfo(ctx, ref.Name); err == nil {
			if info.Size > c.cfg.MaxImageBytes {
				return fate{kind: deadLetter, reason: schemas.ReasonImageTooLarge,
					description: fmt.Sprintf("object %s/%s has %d bytes, more than %d", ref.Bucket, ref.Name, info.Size, c.cfg.MaxImageBytes)}, false
			}
			if err = c.bytes.acquire(ctx, int64(info.Size)); err == nil {
				it.bytes += int64(info.Size)
				it.event.Image.Bytes, err = store.GetBytes(ctx, ref.Name)
			}
		}
	}
	switch {
	case err == nil:
		return fate{}, true
	case errors.Is(err, jetstream.ErrBucketNotFound), errors.Is(err, jetstream.ErrObjectNotFound):
		return fate{kind: deadLetter, reason: reasonObjectNotFound,
			description: fmt.Sprintf("object %s/%s: %v", ref.Bucket, ref.Name, err)}, false
	default:
		f := decide(err, it.meta.NumDelivered, &c.cfg)
		return f, false
	}
}

const reasonObjectNotFound = "object_not_found"

// watchConsumer polls the consumer's info for readiness and the backlog
// metrics, and asks for a new bind when the consumer vanished.
func (c *Consumer) watchConsumer(ctx context.Context) {
	t := time.NewTicker(c.cfg.InfoInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p := c.current.Load()
		if p == nil {
			continue
		}
		ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
		info, err := (*p).Info(ictx)
		cancel()
		if err != nil {
			if lostConsumer(err) {
				c.bound.Store(false)
				c.rebind.Store(true)
			}
			c.log.Warn().Err(err).Msg("consumer info")
			continue
		}
		c.bound.Store(true)
		c.metrics.consumerState.WithLabelValues("pending").Set(float64(info.NumPending))
		c.metrics.consumerState.WithLabelValues("ack_pending").Set(float64(info.NumAckPending))
	}
}
