package consumer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"

	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/schemas"
)

// largeMessage is the size above which a message is taken in off the
// fetch loop: the messages behind it must not wait for its decoding.
const largeMessage = 256 << 10

// intake admits one pulled message, decodes it into tasks (one per model
// asked) and sends them on to the batcher, or gives the message its fate
// at once when it can never be predicted. ctx ends when the worker stops
// pulling: what arrives after that is handed back. finishCtx bounds the
// publishing of outputs decided here.
func (c *Consumer) intake(ctx, finishCtx context.Context, msg jetstream.Msg, out chan<- *task) {
	meta, err := msg.Metadata()
	if err != nil { // not a JetStream message: nothing to ack
		c.log.Error().Err(err).Str("subject", msg.Subject()).Msg("message without metadata")
		c.ledger.slots.release(1)
		return
	}
	c.metrics.received.Inc()
	m := c.ledger.admit(msg, meta)
	c.traceEvent(m)
	if ctx.Err() != nil {
		c.ledger.settle(m, settlement{kind: nakNow})
		return
	}
	if len(msg.Data()) > largeMessage {
		c.wg.Go(func() { c.prepare(ctx, finishCtx, m, out) })
		return
	}
	c.prepare(ctx, finishCtx, m, out)
}

// prepare decodes m, makes its tasks, prepares its image (off the
// caller's goroutine: see image), and sends the tasks to the batcher.
func (c *Consumer) prepare(ctx, finishCtx context.Context, m *message, out chan<- *task) {
	ev, err := schemas.DecodeEvent(m.msg.Data())
	if err != nil {
		f := dead(schemas.ReasonInvalidJSON, err.Error())
		var inv *schemas.InvalidEventError
		if errors.As(err, &inv) {
			m.event.ID = inv.EventID
			f = dead(inv.Reason, inv.Description)
		}
		c.deliverAll(finishCtx, m, []*task{m.addTask(predictor.Model{}, predictor.OutputConfig{}, "")}, f)
		return
	}
	m.event = ev
	if m.span != nil {
		m.span.SetAttributes(attribute.String("worker.event_id", ev.ID))
	}
	tasks := c.tasks(m)
	switch limit := c.ledger.bytes.limit(); {
	case m.bytes > limit:
		c.deliverAll(finishCtx, m, tasks, dead(schemas.ReasonMessageTooLarge,
			fmt.Sprintf("the message has %d bytes, more than WORKER_MAX_PENDING_BYTES (%d)", m.bytes, limit)))
		return
	case m.meta.NumDelivered > uint64(c.cfg.MaxDeliver): // e.g. its earlier deliveries crashed workers
		c.wg.Go(func() { c.overDelivered(finishCtx, tasks) })
		return
	}
	if img := &ev.Image; img.Object != nil || len(img.Bytes) > 0 || img.URL != "" && c.fetcher != nil {
		c.wg.Go(func() {
			if f, ok := c.image(ctx, m); !ok {
				c.deliverAll(finishCtx, m, tasks, f)
				return
			}
			for _, t := range tasks {
				t.input = predictor.Input{ID: t.input.ID, Bytes: m.event.Image.Bytes}
			}
			c.forward(ctx, tasks, out)
		})
		return
	}
	c.forward(ctx, tasks, out)
}

// forward sends tasks to the batcher, or hands them back when the worker
// stops first.
func (c *Consumer) forward(ctx context.Context, tasks []*task, out chan<- *task) {
	for i, t := range tasks {
		if ctx.Err() != nil {
			c.endAll(tasks[i:], shutdown("shutting down before the call"))
			return
		}
		t.wait = c.child(t.m, "batch wait", attribute.String("worker.model", t.asked.ID))
		select {
		case out <- t:
		case <-ctx.Done():
			c.endAll(tasks[i:], shutdown("shutting down before the call"))
			return
		}
	}
}

// tasks makes m's tasks: one per model its event asks, defaults filled.
// Entries that come to the same model and output config once defaults
// are filled make one task.
func (c *Consumer) tasks(m *message) []*task {
	ev := &m.event
	if ev.Model == nil && ev.OutputConfig == nil && len(ev.Models) == 0 {
		m.addTask(c.cfg.DefaultModel, predictor.OutputConfig{}, c.defaultKey)
		return m.tasks
	}
	for _, spec := range ev.Asks() {
		asked := withDefaults(spec, c.cfg.DefaultModel)
		oc := outputConfig(spec.OutputConfig)
		key := groupKey(asked, oc)
		if !slices.ContainsFunc(m.tasks, func(t *task) bool { return t.key == key }) {
			m.addTask(asked, oc, key)
		}
	}
	return m.tasks
}

// withDefaults fills what an event's model leaves empty. Another model
// than the default does not inherit the default's version.
func withDefaults(m schemas.ModelSpec, def predictor.Model) predictor.Model {
	out := predictor.Model{
		UserID:    cmp.Or(m.UserID, def.UserID),
		AppID:     cmp.Or(m.AppID, def.AppID),
		ID:        cmp.Or(m.ID, def.ID),
		VersionID: m.VersionID,
	}
	if m.VersionID == "" && out.ID == def.ID {
		out.VersionID = def.VersionID
	}
	return out
}

func outputConfig(oc *schemas.OutputConfig) predictor.OutputConfig {
	if oc == nil {
		return predictor.OutputConfig{}
	}
	out := predictor.OutputConfig{MaxConcepts: oc.MaxConcepts, MinValue: oc.MinValue}
	for _, c := range oc.SelectConcepts {
		out.SelectConcepts = append(out.SelectConcepts, predictor.ConceptRef{ID: c.ID, Name: c.Name})
	}
	return out
}

// overDelivered dead-letters the tasks of a message delivered more often
// than allowed, except those whose output an earlier delivery stored:
// an event never ends with both a result and a dead letter.
func (c *Consumer) overDelivered(ctx context.Context, tasks []*task) {
	m := tasks[0].m
	f := dead(schemas.ReasonMaxDeliveries,
		fmt.Sprintf("delivered %d times, more than WORKER_MAX_DELIVER=%d", m.meta.NumDelivered, c.cfg.MaxDeliver))
	if c.memory != nil {
		tasks = c.skipStored(ctx, tasks)
	}
	outs := make([]output, len(tasks))
	for i, t := range tasks {
		outs[i] = output{t: t, f: f}
	}
	c.deliver(ctx, outs)
}

// deliverAll gives every task of m the same fate, off the fetch loop.
func (c *Consumer) deliverAll(finishCtx context.Context, m *message, tasks []*task, f fate) {
	outs := make([]output, len(tasks))
	for i, t := range tasks {
		outs[i] = output{t: t, f: f}
	}
	c.wg.Go(func() { c.deliver(finishCtx, outs) })
}

// loadObject reads the event's image from the Object Store into m's byte
// budget. It returns a fate instead when the image cannot be had: too
// large, missing, or (transient) not readable now.
func (c *Consumer) loadObject(ctx context.Context, m *message, ref *schemas.ObjectRef) ([]byte, fate) {
	where := ref.Bucket + "/" + ref.Name
	store, err := c.js.ObjectStore(ctx, ref.Bucket)
	if err != nil {
		return nil, objectFailed(m, where, err, &c.cfg, ctx.Err() != nil)
	}
	info, err := store.GetInfo(ctx, ref.Name)
	if err != nil {
		return nil, objectFailed(m, where, err, &c.cfg, ctx.Err() != nil)
	}
	size := int64(info.Size)
	if size > c.cfg.MaxImageBytes {
		return nil, dead(schemas.ReasonImageTooLarge, fmt.Sprintf("object %s has %d bytes, more than %d", where, size, c.cfg.MaxImageBytes))
	}
	switch err := c.ledger.grow(ctx, m, size); {
	case errors.Is(err, errOverBudget):
		return nil, dead(schemas.ReasonImageTooLarge, fmt.Sprintf("object %s has %d bytes, more than WORKER_MAX_PENDING_BYTES allows", where, size))
	case err != nil:
		return nil, objectFailed(m, where, err, &c.cfg, ctx.Err() != nil)
	}
	r, err := store.Get(ctx, ref.Name)
	if err != nil {
		return nil, objectFailed(m, where, err, &c.cfg, ctx.Err() != nil)
	}
	defer r.Close()
	// The entry may have been replaced since GetInfo: read no more than
	// was checked and counted.
	b, err := io.ReadAll(io.LimitReader(r, size+1))
	switch {
	case err != nil:
		return nil, objectFailed(m, where, err, &c.cfg, ctx.Err() != nil)
	case int64(len(b)) > size:
		return nil, fate{kind: retryLater, delay: nakDelay(m.meta.NumDelivered, &c.cfg),
			description: fmt.Sprintf("object %s grew while it was read", where)}
	}
	return b, fate{}
}

func predictorOutcome(err error) predictor.Outcome { return predictor.Outcome{Err: err} }

// objectFailed is the fate of an event whose image could not be read.
func objectFailed(m *message, where string, err error, cfg *Config, stopping bool) fate {
	if errors.Is(err, jetstream.ErrBucketNotFound) || errors.Is(err, jetstream.ErrObjectNotFound) {
		return dead(schemas.ReasonObjectNotFound, fmt.Sprintf("object %s: %v", where, err))
	}
	return decide(predictorOutcome(fmt.Errorf("object %s: %w", where, err)), m.meta.NumDelivered, cfg, stopping)
}
