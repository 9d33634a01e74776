package consumer

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/schemas"
)

// Memory remembers what was already paid for: outputs already stored
// (durable idempotency beyond the results stream's duplicate window) and
// predictions already made for the same image (a result cache). memo.Memo
// is one; without one the worker relies on Nats-Msg-Id alone.
type Memory interface {
	DoneKey(eventID string, asked schemas.Model) string
	// CacheKey is false when the image must not be cached.
	CacheKey(image []byte, url string, asked schemas.Model, oc *schemas.OutputConfig) (string, bool)
	Done(ctx context.Context, keys []string) []bool
	Cached(ctx context.Context, keys []string) [][]byte
	MarkDone(key string, value []byte) bool
	Remember(key string, value []byte) jetstream.PubAckFuture
}

// Option adds an optional part to a Consumer.
type Option func(*Consumer)

// WithMemory makes the consumer skip what m says is stored and answer
// from m's cache.
func WithMemory(m Memory) Option { return func(c *Consumer) { c.memory = m } }

// recall ends the tasks whose output is already stored, answers those
// whose prediction is cached, and returns the rest, which need a call.
func (c *Consumer) recall(ctx context.Context, batch []*task) []*task {
	if c.memory == nil {
		return batch
	}
	rest := c.skipStored(ctx, batch)
	if n := len(batch) - len(rest); n > 0 {
		c.metrics.saved.WithLabelValues("idempotent").Add(float64(n))
	}

	keys, cacheable := make([]string, 0, len(rest)), rest[:0:0]
	for _, t := range rest {
		img := t.m.event.Image
		if key, ok := c.memory.CacheKey(img.Bytes, img.URL, schemaModel(t.asked), schemaOutputConfig(t.oc)); ok {
			t.cacheKey = key
			keys = append(keys, key)
			cacheable = append(cacheable, t)
		}
	}
	if len(keys) == 0 {
		return rest
	}
	var hits []output
	hit := make(map[*task]bool)
	for i, v := range c.memory.Cached(ctx, keys) {
		t := cacheable[i]
		if o, ok := t.fromCached(v); ok {
			hit[t] = true
			hits = append(hits, o)
		}
	}
	if len(hits) == 0 {
		return rest
	}
	c.metrics.saved.WithLabelValues("cache").Add(float64(len(hits)))
	c.wg.Go(func() { c.deliver(ctx, hits) })
	left := rest[:0:0]
	for _, t := range rest {
		if !hit[t] {
			left = append(left, t)
		}
	}
	return left
}

// skipStored ends the tasks whose output an earlier delivery stored (the
// idempotency records say so, in one lookup) and returns the others.
func (c *Consumer) skipStored(ctx context.Context, tasks []*task) []*task {
	keys := make([]string, len(tasks))
	for i, t := range tasks {
		t.doneKey = c.memory.DoneKey(t.m.event.ID, schemaModel(t.asked))
		keys[i] = t.doneKey
	}
	rest := tasks[:0:0]
	for i, done := range c.memory.Done(ctx, keys) {
		if done {
			c.endTask(tasks[i], already())
		} else {
			rest = append(rest, tasks[i])
		}
	}
	return rest
}

// fromCached is t's output made from a cached prediction (a result
// marshalled without any event's own fields): the prediction is the
// cache's, the event's fields are t's own. It is false when there is none.
func (t *task) fromCached(cached []byte) (output, bool) {
	r := &schemas.Result{}
	if cached == nil || json.Unmarshal(cached, r) != nil {
		return output{}, false
	}
	r.EventID, r.Metadata, r.Source, r.Cached = t.m.event.ID, t.m.event.Metadata, t.m.source(), true
	t.cacheKey = "" // answered from a stored prediction: nothing to remember
	return output{t: t, f: fate{kind: publishResult}, result: r}, true
}

// remember records, once o's result is stored, that its event is done
// and, when its image may be cached, its prediction, which it returns
// (nil when not cached). Both writes are asynchronous; a lost one costs
// at most a call later.
func (c *Consumer) remember(o *output) []byte {
	if c.memory == nil || o.f.kind != publishResult {
		return nil
	}
	t := o.t
	if t.doneKey != "" && o.ack != nil {
		c.memory.MarkDone(t.doneKey, []byte(o.ack.Stream+":"+strconv.FormatUint(o.ack.Sequence, 10)))
	}
	if t.cacheKey == "" {
		return nil
	}
	r := *o.result
	r.EventID, r.Metadata, r.Source, r.Cached = "", nil, schemas.Source{}, false
	v, err := r.MarshalJSON()
	if err != nil {
		return nil
	}
	c.memory.Remember(t.cacheKey, v)
	return v
}

// schemaOutputConfig is the event-side form of an output config, for keys.
func schemaOutputConfig(oc predictor.OutputConfig) *schemas.OutputConfig {
	if oc.MaxConcepts == 0 && oc.MinValue == 0 && len(oc.SelectConcepts) == 0 {
		return nil
	}
	out := &schemas.OutputConfig{MaxConcepts: oc.MaxConcepts, MinValue: oc.MinValue}
	for _, s := range oc.SelectConcepts {
		out.SelectConcepts = append(out.SelectConcepts, schemas.ConceptRef{ID: s.ID, Name: s.Name})
	}
	return out
}
