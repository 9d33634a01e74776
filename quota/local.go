package quota

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/imgpredict/worker/internal/ctxtime"
)

// Local is the call limiter of one process. On a throttling answer it pauses
// every caller and halves the rate; each success then adds back a twentieth
// of the configured rate, so the client recovers within a few seconds of
// clean calls instead of hammering the account again at once.
type Local struct {
	lim   *rate.Limiter
	max   rate.Limit
	floor rate.Limit
	pause time.Duration

	mu         sync.Mutex
	pauseUntil time.Time
}

// NewLocal holds calls under perSecond with the given burst; a throttling
// answer pauses every call for pause.
func NewLocal(perSecond float64, burst int, pause time.Duration) *Local {
	max := rate.Limit(perSecond)
	return &Local{
		lim:   rate.NewLimiter(max, burst),
		max:   max,
		floor: max / 8,
		pause: pause,
	}
}

// pausedFor is how long the current throttle pause still lasts.
func (q *Local) pausedFor(now time.Time) time.Duration {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pauseUntil.Sub(now)
}

// Ready blocks until a call could start at once, without taking the token.
func (q *Local) Ready(ctx context.Context) error {
	for {
		wait := q.waitFor(time.Now())
		if wait <= 0 {
			return nil
		}
		if err := ctxtime.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// waitFor is how long until a call could start: the rest of a throttle
// pause or the time until the bucket holds a whole token.
func (q *Local) waitFor(now time.Time) time.Duration {
	wait := q.pausedFor(now)
	if tokens := q.lim.TokensAt(now); tokens < 1 {
		wait = max(wait, time.Duration((1-tokens)/float64(q.lim.Limit())*float64(time.Second)))
	}
	return wait
}

// Take waits out any throttle pause, then takes one call's token. It takes
// the token only when it is there at the moment of the call, never by
// reserving a future one: reservations made before a stall of the process
// (GC, CPU starvation) would all fire together when it ends and burst past
// the account's quota.
func (q *Local) Take(ctx context.Context) error {
	for {
		now := time.Now()
		if q.pausedFor(now) <= 0 && q.lim.AllowN(now, 1) {
			return nil
		}
		if err := ctxtime.Sleep(ctx, max(q.waitFor(now), time.Millisecond)); err != nil {
			return err
		}
	}
}

// Throttled starts a pause and lowers the rate, once per pause: the many
// calls that hit the same throttle must not cut the rate many times. It
// reports whether it started a pause.
func (q *Local) Throttled() bool {
	now := time.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if now.Before(q.pauseUntil) {
		return false
	}
	q.pauseUntil = now.Add(q.pause)
	q.lim.SetLimitAt(now, max(q.lim.Limit()/2, q.floor))
	return true
}

// Succeeded raises a lowered rate a step back towards the configured one.
func (q *Local) Succeeded() {
	if q.lim.Limit() >= q.max {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.lim.SetLimit(min(q.lim.Limit()+q.max/20, q.max))
}

// Rate is the current rate in calls per second, lowered after throttling.
func (q *Local) Rate() float64 { return float64(q.lim.Limit()) }
