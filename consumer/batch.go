package consumer

import (
	"time"
)

// pending holds the items waiting for a call, one FIFO queue per group.
// It belongs to the batch loop's goroutine alone.
type pending struct {
	size   int           // max items per batch
	wait   time.Duration // max wait of the oldest item
	queues map[string][]*item
	count  int
}

func newPending(size int, wait time.Duration) *pending {
	return &pending{size: size, wait: wait, queues: make(map[string][]*item)}
}

func (p *pending) add(it *item) {
	p.queues[it.key] = append(p.queues[it.key], it)
	p.count++
}

// due picks the group whose batch should go out now: among groups that
// are full or whose oldest item has waited long enough, the one with the
// oldest item. It returns "" when no group is due, and else how long until
// the next one will be (0 when one is due).
func (p *pending) due(now time.Time) (string, time.Duration) {
	best, next := "", time.Duration(-1)
	var bestAt time.Time
	for key, q := range p.queues {
		head := q[0].arrived
		left := p.wait - now.Sub(head)
		if len(q) >= p.size || left <= 0 {
			if best == "" || head.Before(bestAt) {
				best, bestAt = key, head
			}
			continue
		}
		if next < 0 || left < next {
			next = left
		}
	}
	if best != "" {
		return best, 0
	}
	return "", next
}

// take removes up to size items of the group, oldest first.
func (p *pending) take(key string) []*item {
	q := p.queues[key]
	n := min(len(q), p.size)
	batch := q[:n:n]
	if n == len(q) {
		delete(p.queues, key)
	} else {
		p.queues[key] = q[n:]
	}
	p.count -= n
	return batch
}

// drain removes and returns every pending item.
func (p *pending) drain() []*item {
	var all []*item
	for key, q := range p.queues {
		all = append(all, q...)
		delete(p.queues, key)
	}
	p.count = 0
	return all
}
