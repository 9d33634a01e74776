package consumer

import (
	"context"
	"errors"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/imgpredict/worker/internal/ctxtime"
)

// pullRequest is the size of one pull: up to n messages and, unless
// maxBytes is 0, up to maxBytes bytes.
type pullRequest struct {
	n        int
	maxBytes int64
}

// pullSize sizes the next pull from the free slots and bytes. largest is
// the size of the largest message the server takes (max_payload plus its
// subject and reply); free is at least that. A single-replica consumer
// takes the free bytes as the pull's byte limit. A replicated one cannot
// (see replicated), so it asks for no more messages than fit in the free
// bytes at the largest size each. headTooLarge asks for one message with
// no byte limit: the last byte-limited pull came back empty at once, so
// the message at the head of the consumer is larger than the free bytes.
func pullSize(slots int, free, largest int64, replicated, headTooLarge bool) pullRequest {
	switch {
	case headTooLarge:
		return pullRequest{n: 1}
	case replicated:
		return pullRequest{n: int(max(1, min(int64(slots), free/largest)))}
	}
	return pullRequest{n: slots, maxBytes: free}
}

// fetchLoop pulls messages while there are free slots, until ctx ends.
// The pull that is open when ctx ends is read to its end (at most
// FetchMaxWait), and what it brings is handed back at once: nothing the
// server sends is left to wait for AckWait.
func (c *Consumer) fetchLoop(ctx, finishCtx context.Context, cons jetstream.Consumer, out chan<- *task) {
	bo := backoff.NewExponentialBackOff(backoff.WithInitialInterval(50*time.Millisecond),
		backoff.WithMaxInterval(5*time.Second), backoff.WithMaxElapsedTime(0))
	pause := func(err error, what string) {
		d := bo.NextBackOff()
		if err != nil {
			c.log.Warn().Err(err).Stringer("retry_in", d).Msg(what)
		}
		_ = ctxtime.Sleep(ctx, d)
	}
	headTooLarge := false
	for ctx.Err() == nil {
		if cons == nil || c.rebind.Swap(false) {
			var err error
			if cons, err = c.bind(ctx); err != nil {
				c.bound.Store(false)
				pause(err, "bind consumer")
				continue
			}
			c.setCurrent(cons)
		}
		if !c.pause.wait(ctx) {
			return
		}
		slots, err := c.ledger.slots.reserve(ctx, 2*c.cfg.BatchSize)
		if err != nil {
			return
		}
		largest := c.largestMessage()
		free, err := c.ledger.bytes.waitFree(ctx, largest)
		if err != nil {
			c.ledger.slots.release(slots)
			return
		}
		req := pullSize(slots, free, largest, replicated(cons), headTooLarge)
		c.ledger.slots.release(slots - req.n)
		start := time.Now()
		got, err := c.fetch(ctx, finishCtx, cons, req, out)
		c.ledger.slots.release(req.n - got)
		early := got == 0 && time.Since(start) < c.cfg.FetchMaxWait/2
		headTooLarge = early && req.maxBytes > 0
		switch {
		case err == nil && !early:
			bo.Reset()
		case err == nil: // an empty answer at once: never pull again at once
			pause(nil, "")
		case lostConsumer(err):
			c.bound.Store(false)
			cons = nil
			pause(err, "consumer lost, binding again")
		default:
			pause(err, "fetch")
		}
	}
}

// largestMessage is the most bytes one message may count against a pull's
// byte limit: the server's max_payload plus room for its subject and
// reply subject.
func (c *Consumer) largestMessage() int64 {
	return c.js.Conn().MaxPayload() + 4<<10
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

// fetch sends one pull request and hands each message to intake as it
// arrives (see intake for ctx and finishCtx); it returns how many arrived. The request expires on the
// server after FetchMaxWait and the client waits a second longer, so
// every message the server sends for it is read, even after shutdown
// begins.
func (c *Consumer) fetch(ctx, finishCtx context.Context, cons jetstream.Consumer, req pullRequest, out chan<- *task) (int, error) {
	opts := []jetstream.FetchOpt{jetstream.FetchMaxWait(c.cfg.FetchMaxWait)}
	if req.maxBytes > 0 {
		opts = append(opts, jetstream.FetchMaxBytes(int(req.maxBytes)))
	}
	batch, err := cons.Fetch(req.n, opts...)
	if err != nil {
		return 0, err
	}
	got := 0
	for msg := range batch.Messages() {
		got++
		c.intake(ctx, finishCtx, msg, out)
	}
	err = batch.Error()
	if errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrBatchCompleted) {
		err = nil // the pull request simply expired or was filled
	}
	return got, err
}
