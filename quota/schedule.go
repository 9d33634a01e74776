package quota

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/imgpredict/worker/internal/ctxtime"
)

// schedule is a group's shared record: when the next call of the whole
// group may start, and the throttle pause and rate factor every replica
// obeys. Times are Unix nanoseconds of the replicas' clocks.
type schedule struct {
	Next   int64   `json:"next"`             // the next free call slot
	Pause  int64   `json:"pause,omitempty"`  // no call starts before this
	Factor float64 `json:"factor,omitempty"` // share of the rate left after throttling; 0 = 1
}

func (s schedule) factor() float64 {
	if s.Factor == 0 {
		return 1
	}
	return s.Factor
}

// errConflict says that another replica changed the schedule first; the
// cached schedule has been refreshed.
var errConflict = errors.New("quota schedule changed by another replica")

// reserve takes the group's next free slot for one call and returns it.
// A replica reserves at most one slot at a time (the caller holds f.turn)
// and no earlier than members × gap before it, so that each busy replica
// gets its turn and none holds slots it may not use.
func (f *Fleet) reserve(ctx context.Context, kv jetstream.KeyValue) (int64, error) {
	for {
		f.mu.Lock()
		st, rev, quiet, members := f.st, f.rev, f.quietUntil, f.members
		f.mu.Unlock()
		now := time.Now().UnixNano()
		if wait := max(st.Pause, quiet) - now; wait > 0 {
			if err := ctxtime.Sleep(ctx, time.Duration(wait)); err != nil {
				return 0, err
			}
			continue
		}
		slot := max(st.Next, now)
		if early := slot - now - int64(max(members, 1))*int64(f.gap(st.factor())); early > 0 {
			if err := ctxtime.Sleep(ctx, time.Duration(early)); err != nil {
				return 0, err
			}
			continue
		}
		ok := f.successes.Swap(0)
		next := st
		next.Factor = min(1, st.factor()+float64(ok)/20)
		next.Next = slot + int64(f.gap(next.Factor))
		err := f.write(ctx, kv, next, rev)
		if err == nil {
			return slot, nil
		}
		f.successes.Add(ok)
		if !errors.Is(err, errConflict) {
			return 0, err
		}
	}
}

// gap is the time between two calls of the group at the given factor.
func (f *Fleet) gap(factor float64) time.Duration {
	return time.Duration(float64(time.Second) / (f.rate * factor))
}

// write stores st if the schedule is still at rev. On a conflict it
// refreshes the cached schedule and returns errConflict.
func (f *Fleet) write(ctx context.Context, kv jetstream.KeyValue, st schedule, rev uint64) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode quota schedule: %w", err)
	}
	octx, cancel := context.WithTimeout(ctx, f.cfg.OpTimeout)
	defer cancel()
	var newRev uint64
	if rev == 0 {
		newRev, err = kv.Create(octx, f.stateKey, b)
	} else {
		newRev, err = kv.Update(octx, f.stateKey, b, rev)
	}
	switch {
	case err == nil:
		f.setSchedule(st, newRev, true)
		return nil
	case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		if err := f.refresh(octx, kv); err != nil {
			return err
		}
		return errConflict
	}
	return fmt.Errorf("write quota schedule: %w", err)
}

// refresh reads the schedule from the bucket into the cache.
func (f *Fleet) refresh(ctx context.Context, kv jetstream.KeyValue) error {
	e, err := kv.Get(ctx, f.stateKey)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		f.setSchedule(schedule{}, 0, true)
		return nil
	case err != nil:
		return fmt.Errorf("read quota schedule: %w", err)
	}
	f.applySchedule(e, true)
	return nil
}

// applySchedule caches the schedule of an entry read or watched; a
// watched entry older than the cache is ignored. A record that does not
// decode counts as empty, so that the next reservation replaces it.
func (f *Fleet) applySchedule(e jetstream.KeyValueEntry, force bool) {
	var st schedule
	if e.Operation() == jetstream.KeyValuePut {
		if err := json.Unmarshal(e.Value(), &st); err != nil {
			f.log.Warn().Err(err).Msg("replacing a quota schedule that does not decode")
			st = schedule{}
		}
	}
	f.setSchedule(st, e.Revision(), force)
}

func (f *Fleet) setSchedule(st schedule, rev uint64, force bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if force || rev > f.rev {
		f.st, f.rev = st, rev
	}
}
