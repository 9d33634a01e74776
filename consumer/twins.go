package consumer

import (
	"context"
	"sync"
)

// twins holds the tasks whose prediction (same image, model and output
// config: the same cache key) a call in flight is already making. They
// take no place in a call: they wait for that call's stored result and
// are answered from it, as from the cache. Should the leading task end
// without a result (a retry, a dead letter, a hand-back), they go back to
// the batcher and are predicted on their own. Its state belongs to its
// mutex.
type twins struct {
	mu      sync.Mutex
	waiting map[string][]*task // by cache key, while a task leads it
	back    []*task            // released, on their way to the batcher
	ready   chan struct{}      // back has tasks
	closed  bool               // nothing goes back any more: the worker stops pulling
}

func newTwins() *twins {
	return &twins{waiting: make(map[string][]*task), ready: make(chan struct{}, 1)}
}

// join returns the tasks that go to the call: each cacheable task leads
// its key unless another call leads it, and then waits. A task whose key
// this call (mine) already leads stays, to share its input.
func (w *twins) join(tasks []*task, mine map[string]bool) []*task {
	w.mu.Lock()
	defer w.mu.Unlock()
	call := tasks[:0:0]
	for _, t := range tasks {
		key := t.cacheKey
		switch q, led := w.waiting[key]; {
		case key == "" || mine[key]:
		case t.led == key || !led: // a leader back from a pause leads again
			w.waiting[key] = q
			mine[key] = true
			t.led = key
		default:
			w.waiting[key] = append(q, t)
			continue
		}
		call = append(call, t)
	}
	return call
}

// follow makes t, which shared its input with the leader of its key in a
// call that failed for the whole account, wait on that leader rather
// than be parked beside it: the probe must not answer the image through
// t while the leader goes back to a call. It reports false when t leads
// or nothing leads its key.
func (w *twins) follow(t *task) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	q, led := w.waiting[t.cacheKey]
	if t.cacheKey == "" || t.led != "" || !led {
		return false
	}
	w.waiting[t.cacheKey] = append(q, t)
	return true
}

// land ends t's lead and returns the tasks that waited on it.
func (w *twins) land(t *task) []*task {
	w.mu.Lock()
	defer w.mu.Unlock()
	key := t.led
	t.led = ""
	waiting := w.waiting[key]
	delete(w.waiting, key)
	return waiting
}

// release sends tasks back to the batcher; it reports false when the
// worker no longer pulls, and then they must be handed back.
func (w *twins) release(tasks []*task) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	w.back = append(w.back, tasks...)
	select {
	case w.ready <- struct{}{}:
	default:
	}
	return true
}

// take returns the released tasks; when closing, nothing is released
// any more.
func (w *twins) take(closing bool) []*task {
	w.mu.Lock()
	defer w.mu.Unlock()
	back := w.back
	w.back = nil
	w.closed = w.closed || closing
	return back
}

// twinLoop forwards released twins to the batcher until ctx ends, and
// then hands back any still on their way.
func (c *Consumer) twinLoop(ctx context.Context, out chan<- *task) {
	for {
		select {
		case <-c.twins.ready:
			c.forward(ctx, c.twins.take(false), out)
		case <-ctx.Done():
			c.endAll(c.twins.take(true), shutdown("shutting down before the call"))
			return
		}
	}
}

// answerTwins answers the tasks that waited on t from its stored
// result, cached: its marshalled form without the event's own fields
// (nil when t was itself answered from the cache, and then they go back
// to the batcher, where the cache answers them).
func (c *Consumer) answerTwins(ctx context.Context, t *task, cached []byte) {
	if t.led == "" {
		return
	}
	waiting := c.twins.land(t)
	var hits []output
	var back []*task
	for _, w := range waiting {
		if o, ok := w.fromCached(cached); ok {
			hits = append(hits, o)
		} else {
			back = append(back, w)
		}
	}
	c.sendBack(back)
	if len(hits) == 0 {
		return
	}
	c.metrics.saved.WithLabelValues("in_flight").Add(float64(len(hits)))
	c.wg.Go(func() { c.deliver(ctx, hits) })
}

// releaseTwins sends the tasks that waited on t back to the batcher: t
// ended without a stored result, and they must be predicted on their own.
func (c *Consumer) releaseTwins(t *task) {
	if t.led != "" {
		c.sendBack(c.twins.land(t))
	}
}

func (c *Consumer) sendBack(tasks []*task) {
	if len(tasks) > 0 && !c.twins.release(tasks) {
		c.endAll(tasks, shutdown("shutting down before the call"))
	}
}
