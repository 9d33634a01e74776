package consumer

import (
	"context"
	"sync"
)

// budget bounds the bytes the worker holds: message payloads and images
// read from the Object Store. Counting messages alone would let a backlog
// of large inline images take gigabytes.
type budget struct {
	mu      sync.Mutex
	max     int64
	used    int64
	peak    int64
	changed chan struct{} // closed when bytes are released
}

func newBudget(max int64) *budget {
	return &budget{max: max, changed: make(chan struct{})}
}

// raise makes the budget at least n bytes: the largest message the server
// accepts must fit an empty budget, or it could never be pulled.
func (b *budget) raise(n int64) (raised bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n <= b.max {
		return false
	}
	b.max = n
	return true
}

func (b *budget) limit() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.max
}

// waitFree blocks until at least need bytes are free (or nothing is held)
// and returns how many are free, at least need.
func (b *budget) waitFree(ctx context.Context, need int64) (int64, error) {
	for {
		b.mu.Lock()
		free, changed := b.max-b.used, b.changed
		empty := b.used == 0
		b.mu.Unlock()
		if free >= need || empty {
			return max(free, need), nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// acquire blocks until n more bytes fit, then takes them.
func (b *budget) acquire(ctx context.Context, n int64) error {
	for {
		b.mu.Lock()
		if b.used+n <= b.max || b.used == 0 {
			b.take(n)
			b.mu.Unlock()
			return nil
		}
		changed := b.changed
		b.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// add takes n bytes at once: they are already in memory.
func (b *budget) add(n int64) {
	b.mu.Lock()
	b.take(n)
	b.mu.Unlock()
}

func (b *budget) take(n int64) {
	b.used += n
	b.peak = max(b.peak, b.used)
}

func (b *budget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
}

func (b *budget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}
