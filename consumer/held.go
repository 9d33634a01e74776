package consumer

import (
	"context"
	"sync"
	"time"
)

// slots bounds the messages held at once: the fetch loop pulls only as
// many messages as there are free slots, so memory and ack deadlines stay
// bounded however large the backlog is.
type slots chan struct{}

func newSlots(n int) slots {
	s := make(slots, n)
	for range n {
		s <- struct{}{}
	}
	return s
}

// acquireUpTo waits for one free slot, then takes up to max-1 more that
// are free right now.
func (s slots) acquireUpTo(ctx context.Context, max int) (int, error) {
	select {
	case <-s:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	n := 1
	for n < max {
		select {
		case <-s:
			n++
		default:
			return n, nil
		}
	}
	return n, nil
}

func (s slots) release(n int) {
	for range n {
		s <- struct{}{}
	}
}

// heldSet tracks the messages the worker holds, to keep them alive with
// InProgress while they wait for a batch, a call or a publish ack.
type heldSet struct {
	mu    sync.Mutex
	items map[*item]struct{}
}

func (h *heldSet) add(it *item) {
	h.mu.Lock()
	if h.items == nil {
		h.items = make(map[*item]struct{})
	}
	h.items[it] = struct{}{}
	h.mu.Unlock()
}

func (h *heldSet) remove(it *item) {
	h.mu.Lock()
	delete(h.items, it)
	h.mu.Unlock()
}

func (h *heldSet) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.items)
}

// older returns the held items that arrived before t.
func (h *heldSet) older(t time.Time) []*item {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*item
	for it := range h.items {
		if it.arrived.Before(t) {
			out = append(out, it)
		}
	}
	return out
}

// keepAlive sends InProgress for every message held longer than a third
// of AckWait, every third of AckWait, until ctx ends. A short AckWait
// then still lets a crashed replica's messages come back within seconds.
func (c *Consumer) keepAlive(ctx context.Context) {
	every := c.cfg.AckWait / 3
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, it := range c.held.older(now.Add(-every)) {
				if err := it.msg.InProgress(); err != nil {
					c.log.Debug().Err(err).Stringer("msg", it).Msg("in progress")
				}
			}
		}
	}
}
