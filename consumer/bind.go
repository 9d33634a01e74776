package consumer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/imgpredict/worker/internal/streams"
)

// bindAtStart binds the durable consumer, retrying what may pass (broker
// down, leader election) until ctx ends. A configuration that can never
// work (no stream captures the subjects and creation is off, subjects
// overlap another stream, the server rejects the consumer) is returned at
// once, wrapping ErrInvalidConfig.
func (c *Consumer) bindAtStart(ctx context.Context) (cons jetstream.Consumer, err error) {
	err = streams.Retry(ctx, c.log, "bind consumer", func(ctx context.Context) error {
		cons, err = c.bind(ctx)
		return err
	})
	if streams.CannotWork(err) {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return cons, err
}

// bind finds the input stream by its subjects (creating it when none
// captures them and creation is allowed) and creates or updates the
// durable consumer on it.
func (c *Consumer) bind(ctx context.Context) (jetstream.Consumer, error) {
	name, created, err := streams.Ensure(ctx, c.js, streams.Want{
		Setting: "WORKER_SUBJECTS",
		Filters: c.cfg.Subjects,
		Create: jetstream.StreamConfig{
			Name:        c.cfg.Stream,
			Description: "image events for the predict worker",
			Subjects:    c.cfg.Subjects,
			Storage:     jetstream.FileStorage,
			Replicas:    c.cfg.Replicas,
		},
		Allowed: c.cfg.CreateStreams,
	})
	if err != nil {
		return nil, err
	}
	if created {
		c.log.Info().Str("stream", name).Strs("subjects", c.cfg.Subjects).Msg("created the input stream")
	}
	cons, err := c.js.CreateOrUpdateConsumer(ctx, name, jetstream.ConsumerConfig{
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
		return nil, fmt.Errorf("consumer %s on stream %s: %w", c.cfg.Durable, name, err)
	}
	c.log.Info().Str("stream", name).Str("consumer", c.cfg.Durable).Msg("bound to the input stream")
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

// streamName is the name of the input stream the consumer is bound to.
func (c *Consumer) streamName() string {
	if p := c.current.Load(); p != nil {
		if info := (*p).CachedInfo(); info != nil {
			return info.Stream
		}
	}
	return c.cfg.Stream
}

// setCurrent makes cons the consumer that is pulled from and watched.
func (c *Consumer) setCurrent(cons jetstream.Consumer) {
	c.current.Store(&cons)
	c.bound.Store(true)
}

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
		if cause, _ := c.pause.paused(); cause != nil && !info.Paused {
			c.pause.poke() // resumed elsewhere: see whether the account calls again
		}
		c.metrics.consumerState.WithLabelValues("pending").Set(float64(info.NumPending))
		c.metrics.consumerState.WithLabelValues("ack_pending").Set(float64(info.NumAckPending))
	}
}
