package quota

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/imgpredict/worker/internal/ctxtime"
)

// recordAge is how long the bucket keeps a record nobody rewrites: the
// member records of replicas that died without leaving go after it.
const recordAge = time.Minute

// Run joins the group and keeps this replica's member record fresh until
// ctx ends; then it removes the record and returns nil. While the bucket
// cannot be used it holds the replica to a local share and tries again
// every heartbeat.
func (f *Fleet) Run(ctx context.Context) error {
	defer f.markJoined()
	for {
		err := f.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		f.toFallback(err)
		f.markJoined()
		if ctxtime.Sleep(ctx, f.cfg.Heartbeat) != nil {
			return nil
		}
	}
}

// session binds the bucket, follows the group's records and beats until
// ctx ends (nil, after leaving) or the bucket fails.
func (f *Fleet) session(ctx context.Context) error {
	kv, err := f.bind(ctx)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.st, f.rev, f.selfRev, f.beatRevs = schedule{}, 0, 0, [2]uint64{}
	clear(f.seen)
	f.mu.Unlock()

	var wg sync.WaitGroup
	defer wg.Wait()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := kv.Watch(wctx, f.prefix+">")
	if err != nil {
		return fmt.Errorf("watch quota group %s: %w", f.cfg.Group, err)
	}
	defer func() { _ = w.Stop() }()
	loaded := make(chan struct{})
	wg.Go(func() { f.follow(w, loaded) })
	select {
	case <-loaded:
	case <-time.After(f.cfg.OpTimeout):
		return fmt.Errorf("watch quota group %s: no initial values within %s", f.cfg.Group, f.cfg.OpTimeout)
	case <-ctx.Done():
		return nil
	}

	tick := time.NewTicker(f.cfg.Heartbeat)
	defer tick.Stop()
	for {
		f.hook()
		if err := f.beat(ctx, kv); err != nil {
			return err
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			f.leave(ctx, kv)
			return nil
		}
	}
}

// bind opens the bucket, creating it when missing.
func (f *Fleet) bind(ctx context.Context) (jetstream.KeyValue, error) {
	octx, cancel := context.WithTimeout(ctx, f.cfg.OpTimeout)
	defer cancel()
	kv, err := f.js.KeyValue(octx, f.cfg.Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) && f.cfg.NoCreate {
		return nil, fmt.Errorf("quota bucket %s does not exist and WORKER_CREATE_STREAMS is false: create it (nats kv add %s --storage memory --history 1 --ttl 1m)", f.cfg.Bucket, f.cfg.Bucket)
	}
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = f.js.CreateKeyValue(octx, jetstream.KeyValueConfig{
			Bucket:      f.cfg.Bucket,
			Description: "image-worker: Clarifai quota schedules and members of each group",
			History:     1,
			TTL:         recordAge,
			Storage:     jetstream.MemoryStorage, // the records live seconds; losing them costs nothing
			Replicas:    f.cfg.BucketReplicas,
		})
		if errors.Is(err, jetstream.ErrBucketExists) { // another replica created it first
			kv, err = f.js.KeyValue(octx, f.cfg.Bucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("quota bucket %s: %w", f.cfg.Bucket, err)
	}
	return kv, nil
}

// follow caches the group's schedule and members' heartbeats as the
// watch delivers them, until the watch stops.
func (f *Fleet) follow(w jetstream.KeyWatcher, loaded chan<- struct{}) {
	for e := range w.Updates() {
		if e == nil { // the initial values are in
			if loaded != nil {
				close(loaded)
				loaded = nil
			}
			continue
		}
		key := e.Key()
		id, isMember := strings.CutPrefix(key, f.prefix+"member.")
		switch {
		case key == f.stateKey:
			f.applySchedule(e, false)
		case isMember:
			f.mu.Lock()
			switch {
			case id == f.id:
				f.selfRev = e.Revision()
			case e.Operation() == jetstream.KeyValuePut:
				f.seen[id] = time.Now()
			default:
				delete(f.seen, id)
			}
			f.mu.Unlock()
		}
	}
}

// beat refreshes the member record, counts the live members, and returns
// to fleet mode when the replica was in fallback.
func (f *Fleet) beat(ctx context.Context, kv jetstream.KeyValue) error {
	f.mu.Lock()
	echoed := f.selfRev >= f.beatRevs[0]
	f.mu.Unlock()
	if !echoed { // the heartbeat before last never came back
		return fmt.Errorf("watch quota group %s: it stopped delivering", f.cfg.Group)
	}
	octx, cancel := context.WithTimeout(ctx, f.cfg.OpTimeout)
	defer cancel()
	rev, err := kv.Put(octx, f.memberKey, nil)
	if err != nil {
		return fmt.Errorf("quota heartbeat: %w", err)
	}

	now := time.Now()
	f.mu.Lock()
	f.beatRevs = [2]uint64{f.beatRevs[1], rev}
	n := 1
	for id, t := range f.seen {
		if now.Sub(t) > f.cfg.MemberTTL {
			delete(f.seen, id)
			continue
		}
		n++
	}
	changed := n != f.members
	f.members = n
	inFleet := f.kv != nil
	f.mu.Unlock()
	if changed && inFleet {
		f.log.Info().Int("members", n).Msg("quota group members changed")
	}
	if inFleet {
		return nil
	}
	if err := f.refresh(octx, kv); err != nil {
		return err
	}
	f.toFleet(kv)
	return nil
}

// leave removes the member record, so that the others stop counting
// this replica at once.
func (f *Fleet) leave(ctx context.Context, kv jetstream.KeyValue) {
	octx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.cfg.OpTimeout)
	defer cancel()
	if err := kv.Delete(octx, f.memberKey); err != nil {
		f.log.Warn().Err(err).Stringer("expires_after", f.cfg.MemberTTL).Msg("could not remove the quota member record")
	}
}

// toFallback holds the replica to a local share of the rate: the group's
// rate over the members it last counted, or over FallbackReplicas when
// it never counted them.
func (f *Fleet) toFallback(cause error) {
	f.mu.Lock()
	f.kv = nil
	if f.fallback != nil {
		f.mu.Unlock()
		return
	}
	n := f.members
	if n == 0 {
		n = f.cfg.FallbackReplicas
	}
	share := f.rate * f.st.factor() / float64(n)
	fb := NewLocal(share, 1, f.cfg.ThrottlePause)
	fb.lim.AllowN(time.Now(), 1) // start empty: a fleet call may just have gone out
	f.fallback = fb
	f.mu.Unlock()
	f.log.Warn().Err(cause).Int("members", n).Float64("share", share).
		Msg("quota bucket unavailable: holding this replica to a local share")
}

// toFleet makes the replica take its calls from the group's schedule.
// Calls it made in fallback mode are unknown to the schedule, so the
// first fleet call waits until a second has passed since the last of them.
func (f *Fleet) toFleet(kv jetstream.KeyValue) {
	f.mu.Lock()
	back := f.fallback != nil
	f.kv, f.fallback = kv, nil
	if !f.lastLocal.IsZero() {
		f.quietUntil = f.lastLocal.Add(time.Second).UnixNano()
	}
	n := f.members
	f.mu.Unlock()
	f.markJoined()
	msg := "joined the quota group"
	if back {
		msg = "quota bucket back: sharing the group's schedule again"
	}
	f.log.Info().Int("members", n).Float64("rate", f.rate).Msg(msg)
}
