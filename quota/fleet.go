package quota

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/imgpredict/worker/internal/ctxtime"
)

// shareWindow is the span over which a replica's share is measured.
const shareWindow = 5 * time.Second

// Fleet holds the calls of every replica of a group under one account
// quota, through a schedule shared in a NATS KV bucket. It has the
// methods of the Clarifai client's Limiter and is safe for concurrent
// use. Run must be running: Ready and Take wait for its first attempt to
// join the group.
type Fleet struct {
	cfg       FleetConfig
	log       zerolog.Logger
	js        jetstream.JetStream
	id        string
	prefix    string  // every key of the group starts with it
	stateKey  string  // the group's schedule
	memberKey string  // this replica's heartbeat
	rate      float64 // calls per second the group aims at
	// maxLate is how late a call may start after its slot. The headroom
	// leaves quota×gap − 1 s of slack in every second; half of it is for
	// this lateness, half for the jitter on the way to Clarifai.
	maxLate time.Duration

	joined    chan struct{} // closed once Run's first attempt to join ended
	joinOnce  sync.Once
	turn      chan struct{} // held while this replica reserves or waits for a slot
	successes atomic.Int64  // clean calls not yet folded into the shared factor
	throttled prometheus.Counter
	late      prometheus.Counter
	stall     func() // test hook standing for a frozen process; nil otherwise

	mu         sync.Mutex
	kv         jetstream.KeyValue   // set in fleet mode
	fallback   *Local               // set in fallback mode
	st         schedule             // latest schedule seen
	rev        uint64               // its revision, 0 when there is none
	seen       map[string]time.Time // other members' heartbeats, when last seen
	selfRev    uint64               // revision of this replica's latest heartbeat the watch showed
	beatRevs   [2]uint64            // revisions of its last two heartbeats
	members    int                  // live members at the last heartbeat, this one included; 0 = never known
	quietUntil int64                // after fallback calls, fleet calls wait until this (Unix ns)
	lastLocal  time.Time            // last call taken in fallback mode
	calls      []time.Time          // this replica's calls within shareWindow
}

// NewFleet returns a Fleet of cfg.Group on js. It does no I/O: Run joins
// the group. reg may be nil.
func NewFleet(js jetstream.JetStream, cfg FleetConfig, log zerolog.Logger, reg prometheus.Registerer) (*Fleet, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	id := cfg.MemberID
	if id == "" {
		var b [8]byte
		_, _ = rand.Read(b[:]) // never fails
		id = hex.EncodeToString(b[:])
	}
	f := &Fleet{
		cfg:       cfg,
		log:       log.With().Str("component", "quota").Str("group", cfg.Group).Str("member", id).Logger(),
		js:        js,
		id:        id,
		prefix:    cfg.Group + ".",
		stateKey:  cfg.Group + ".schedule",
		memberKey: cfg.Group + ".member." + id,
		rate:      cfg.RateLimit * (1 - cfg.Headroom),
		maxLate:   time.Duration(cfg.Headroom / (1 - cfg.Headroom) / 2 * float64(time.Second)),
		joined:    make(chan struct{}),
		turn:      make(chan struct{}, 1),
		seen:      map[string]time.Time{},
	}
	if err := registerMetrics(reg, f); err != nil {
		return nil, err
	}
	return f, nil
}

// Ready blocks until this replica could start a call at once, taking
// nothing: no throttle pause is on, its previous call has started, and
// the group's next slot is near enough for it to reserve.
func (f *Fleet) Ready(ctx context.Context) error {
	if err := f.waitJoined(ctx); err != nil {
		return err
	}
	for {
		if _, fb := f.mode(); fb != nil {
			return fb.Ready(ctx)
		}
		select {
		case f.turn <- struct{}{}:
			<-f.turn
		case <-ctx.Done():
			return ctx.Err()
		}
		wait := f.readyIn(time.Now().UnixNano())
		if wait <= 0 {
			return nil
		}
		if err := ctxtime.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// readyIn is how long until a reservation made now would not wait.
func (f *Fleet) readyIn(now int64) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	ahead := int64(max(f.members, 1)) * int64(f.gap(f.st.factor()))
	return time.Duration(max(f.st.Pause, f.quietUntil, f.st.Next-ahead) - now)
}

// Take blocks until one call may start, and counts it.
func (f *Fleet) Take(ctx context.Context) error {
	_, err := f.take(ctx)
	return err
}

// take returns the time the call may start at: its slot in the group's
// schedule, or now in fallback mode.
func (f *Fleet) take(ctx context.Context) (int64, error) {
	if err := f.waitJoined(ctx); err != nil {
		return 0, err
	}
	select {
	case f.turn <- struct{}{}:
		defer func() { <-f.turn }()
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	for {
		kv, fb := f.mode()
		if fb != nil {
			if err := fb.Take(ctx); err != nil {
				return 0, err
			}
			now := time.Now()
			f.noteCall(now, true)
			return now.UnixNano(), nil
		}
		slot, err := f.reserve(ctx, kv)
		if err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			f.toFallback(err)
			continue
		}
		if err := ctxtime.Sleep(ctx, time.Until(time.Unix(0, slot))); err != nil {
			return 0, err
		}
		f.hook()
		if f.stale(slot, time.Now().UnixNano()) {
			continue
		}
		f.noteCall(time.Unix(0, slot), false)
		return slot, nil
	}
}

// stale reports whether a reserved slot must not be used: the replica
// woke too late for it (a stall, or a frozen process that resumed), or a
// throttle pause began since. Dropping a slot costs one call; a call that
// crowds the next ones into one second costs a pause of the whole group.
func (f *Fleet) stale(slot, now int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	// Half a gap keeps a late call from crowding the next at low rates; at
	// high rates (a gap of microseconds) a few milliseconds are nothing to
	// the quota but are what a goroutine waking from a timer may take.
	if now-slot > int64(min(f.maxLate, max(f.gap(f.st.factor())/2, 10*time.Millisecond))) {
		f.late.Inc()
		return true
	}
	return f.st.Pause > slot
}

// Throttled reports a throttling answer: the first report of a pause
// starts it for the whole group and halves the group's rate, never below
// an eighth. It returns whether this report started the pause.
func (f *Fleet) Throttled() bool {
	f.throttled.Inc()
	kv, fb := f.mode()
	switch {
	case fb != nil:
		return fb.Throttled()
	case kv == nil: // not joined yet, so no call was made
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.cfg.OpTimeout)
	defer cancel()
	for {
		f.mu.Lock()
		st, rev := f.st, f.rev
		f.mu.Unlock()
		now := time.Now().UnixNano()
		if st.Pause > now {
			return false
		}
		next := st
		next.Pause = now + int64(f.cfg.ThrottlePause)
		next.Factor = max(st.factor()/2, 1.0/8)
		next.Next = max(st.Next, next.Pause)
		err := f.write(ctx, kv, next, rev)
		switch {
		case err == nil:
			return true // the client logs it
		case errors.Is(err, errConflict):
			continue
		}
		f.toFallback(err)
		_, fb = f.mode()
		return fb.Throttled()
	}
}

// Succeeded reports a call Clarifai accepted; every success gives back a
// twentieth of the group's rate lowered by throttling.
func (f *Fleet) Succeeded() {
	if _, fb := f.mode(); fb != nil {
		fb.Succeeded()
		return
	}
	f.successes.Add(1)
}

// Rate is the calls per second the group aims at, lowered after
// throttling; in fallback mode, this replica's local share.
func (f *Fleet) Rate() float64 {
	if _, fb := f.mode(); fb != nil {
		return fb.Rate()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rate * f.st.factor()
}

// mode returns the bucket in fleet mode or the local limiter in fallback
// mode; both are nil until Run has tried to join.
func (f *Fleet) mode() (jetstream.KeyValue, *Local) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.kv, f.fallback
}

func (f *Fleet) waitJoined(ctx context.Context) error {
	select {
	case <-f.joined:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *Fleet) markJoined() { f.joinOnce.Do(func() { close(f.joined) }) }

// noteCall records a call for the share metric, and the last fallback
// call for the quiet second on returning to fleet mode.
func (f *Fleet) noteCall(at time.Time, local bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if local {
		f.lastLocal = at
	}
	f.calls = append(trimBefore(f.calls, at.Add(-shareWindow)), at)
}

// share is the calls per second this replica took over shareWindow, or
// its local share in fallback mode.
func (f *Fleet) share() float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fallback != nil {
		return f.fallback.Rate()
	}
	f.calls = trimBefore(f.calls, time.Now().Add(-shareWindow))
	return float64(len(f.calls)) / shareWindow.Seconds()
}

// trimBefore drops the times before t from the front of ts, in place.
func trimBefore(ts []time.Time, t time.Time) []time.Time {
	i := 0
	for i < len(ts) && ts[i].Before(t) {
		i++
	}
	return append(ts[:0], ts[i:]...)
}

// hook lets a test stop the replica where a stopped process would hang.
func (f *Fleet) hook() {
	if f.stall != nil {
		f.stall()
	}
}

func (f *Fleet) memberCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.members
}

func (f *Fleet) fallbackState() int {
	if _, fb := f.mode(); fb != nil {
		return 1
	}
	return 0
}
