package consumer

import (
	"context"
	"time"
)

// pending holds the tasks waiting for a call, one FIFO queue per group.
// It belongs to the batch loop's goroutine alone.
type pending struct {
	size   int           // max tasks per batch
	wait   time.Duration // max wait of the oldest task
	queues map[string][]*task
	count  int
}

func newPending(size int, wait time.Duration) *pending {
	return &pending{size: size, wait: wait, queues: make(map[string][]*task)}
}

func (p *pending) add(t *task) {
	p.queues[t.key] = append(p.queues[t.key], t)
	p.count++
}

// due picks the group whose batch should go out now: among groups that
// are full or whose oldest task has waited long enough, the one with the
// oldest task. It returns "" when no group is due, and else how long until
// the next one will be (0 when one is due, negative when none is pending).
func (p *pending) due(now time.Time) (string, time.Duration) {
	best, next := "", time.Duration(-1)
	var bestAt time.Time
	for key, q := range p.queues {
		head := q[0].m.arrived
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

// take removes up to size tasks of the group, oldest first. The queue
// keeps no reference to them, so that their images can be freed.
func (p *pending) take(key string) []*task { return p.takeUpTo(key, p.size) }

// takeUpTo removes up to n tasks of the group, oldest first, as take.
func (p *pending) takeUpTo(key string, n int) []*task {
	q := p.queues[key]
	n = min(len(q), n)
	batch := make([]*task, n)
	copy(batch, q)
	clear(q[:n])
	if n == len(q) {
		delete(p.queues, key)
	} else {
		p.queues[key] = q[n:]
	}
	p.count -= n
	return batch
}

// drain removes and returns every pending task.
func (p *pending) drain() []*task {
	var all []*task
	for key, q := range p.queues {
		all = append(all, q...)
		delete(p.queues, key)
	}
	p.count = 0
	return all
}

// topUp asks the batch loop for up to n more tasks of one group, due or
// not, for a call whose batch shrank before it went out: outputs already
// stored, predictions cached and repeated images take no place in a call,
// so the call fills their places instead of going out part empty.
type topUp struct {
	key   string
	n     int
	reply chan []*task // buffered: the batch loop never waits on it
}

// batchLoop owns the pending tasks. Each time the dispatcher says it
// wants a batch, it sends one on batches as soon as a group is due; it
// answers each top-up at once, with what the group has. When ctx ends it
// hands back whatever is pending.
func (c *Consumer) batchLoop(ctx context.Context, in <-chan *task, want <-chan struct{}, batches chan<- []*task, topUps <-chan topUp) {
	p := newPending(c.cfg.BatchSize, c.cfg.BatchWait)
	wanted := false
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var wake <-chan time.Time
		if wanted {
			key, next := p.due(time.Now())
			if key != "" {
				b := p.take(key)
				select {
				case batches <- b:
					wanted = false
					continue
				case <-ctx.Done():
					c.endAll(b, shutdown("shutting down before the call"))
					c.endAll(p.drain(), shutdown("shutting down before the call"))
					return
				}
			}
			if next >= 0 {
				timer.Reset(next)
				wake = timer.C
			}
		}
		select {
		case t := <-in:
			p.add(t)
		case <-want:
			wanted = true
		case r := <-topUps:
			r.reply <- p.takeUpTo(r.key, r.n)
		case <-wake:
		case <-ctx.Done():
			c.endAll(p.drain(), shutdown("shutting down before the call"))
			return
		}
	}
}
