package quota

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/internal/natstest"
)

const (
	wait = 10 * time.Second
	tick = 20 * time.Millisecond
)

func TestFleetMembersJoinLeaveAndExpire(t *testing.T) {
	srv := natstest.Start(t)
	cfg := testConfig()
	cfg.MemberTTL = 3 * time.Second
	a, b := join(t, srv, cfg), join(t, srv, cfg)
	members := func(n float64) func() bool {
		return func() bool { return a.gauge("worker_quota_members") == n && b.gauge("worker_quota_members") == n }
	}
	require.Eventually(t, members(2), wait, tick)

	c := join(t, srv, cfg)
	require.Eventually(t, members(3), wait, tick, "a member joins")

	start := time.Now()
	c.leave()
	require.Eventually(t, members(2), wait, tick)
	require.Less(t, time.Since(start), cfg.MemberTTL, "a member that leaves is dropped at once, not when it expires")

	b.kill()
	require.Eventually(t, func() bool { return a.gauge("worker_quota_members") == 1 }, wait, tick,
		"a member that dies without leaving expires")
}

func TestFleetSharesFollowBusyMembers(t *testing.T) {
	srv := natstest.Start(t)
	a, b := join(t, srv, testConfig()), join(t, srv, testConfig())

	ba := keepBusy(a)
	defer ba.halt()
	require.Eventually(t, func() bool { return near(ba.spacing(6), 1) }, wait, tick, "alone, a takes every slot")

	bb := keepBusy(b)
	require.Eventually(t, func() bool { return near(ba.spacing(6), 2) && near(bb.spacing(6), 2) }, wait, tick,
		"two busy members take turns")
	require.Eventually(t, func() bool {
		share := a.gauge("worker_quota_share_calls_per_second")
		return share > testRate*0.4 && share < testRate*0.6
	}, wait, tick, "a's share is measured over the last 5 s")

	bb.halt()
	b.leave()
	require.Eventually(t, func() bool { return near(ba.spacing(6), 1) }, wait, tick, "a takes b's share back when b leaves")

	c := join(t, srv, testConfig())
	bc := keepBusy(c)
	require.Eventually(t, func() bool { return near(ba.spacing(6), 2) }, wait, tick, "c joins")
	bc.halt()
	c.kill()
	require.Eventually(t, func() bool { return near(ba.spacing(6), 1) }, wait, tick,
		"a takes a dead member's share back without waiting for its record to expire")
}

func TestFleetLendsIdleShares(t *testing.T) {
	srv := natstest.Start(t)
	a := join(t, srv, testConfig())
	join(t, srv, testConfig())
	join(t, srv, testConfig())
	require.Eventually(t, func() bool { return a.gauge("worker_quota_members") == 3 }, wait, tick)

	ba := keepBusy(a)
	defer ba.halt()
	require.Eventually(t, func() bool { return near(ba.spacing(10), 1) }, wait, tick,
		"the busy member takes every slot, idle members hold none")
}

func TestFleetThrottleSlowsTheWholeGroup(t *testing.T) {
	srv := natstest.Start(t)
	cfg := testConfig()
	cfg.ThrottlePause = 300 * time.Millisecond
	a, b := join(t, srv, cfg), join(t, srv, cfg)
	require.Eventually(t, func() bool { return b.gauge("worker_quota_members") == 2 }, wait, tick)
	bb := keepBusy(b)
	defer bb.halt()
	require.Eventually(t, func() bool { return near(bb.spacing(4), 1) }, wait, tick)

	told := time.Now()
	require.True(t, a.Throttled(), "the first throttling answer starts a pause")
	require.False(t, b.Throttled(), "another member's throttled call falls in the same pause")
	require.Equal(t, 1.0, a.gauge("worker_quota_throttled_total"))
	require.Equal(t, 1.0, b.gauge("worker_quota_throttled_total"))
	require.Eventually(t, func() bool { return b.Rate() < groupRate*0.51 }, wait, tick, "b's rate is halved too")

	n := len(bb.taken())
	require.Eventually(t, func() bool { return len(bb.taken()) > n+4 }, wait, tick)
	after := bb.taken()[n+1:] // the slot reserved before the pause may have been dropped or used
	require.False(t, after[0].Before(told.Add(cfg.ThrottlePause)), "b waits out the pause a was told about")
	require.Eventually(t, func() bool { return near(bb.spacing(3), 2) }, wait, tick, "b calls at half the rate")

	for range 10 {
		a.Succeeded()
	}
	_, err := a.take(t.Context())
	require.NoError(t, err)
	require.Eventually(t, func() bool { return near(b.Rate(), groupRate) }, wait, tick,
		"clean calls anywhere in the group bring the rate back")
}

func TestFleetFallsBackWhileTheBucketIsUnavailable(t *testing.T) {
	srv := natstest.Start(t)
	cfg := testConfig()
	a, b := join(t, srv, cfg), join(t, srv, cfg)
	require.Eventually(t, func() bool { return a.gauge("worker_quota_members") == 2 }, wait, tick)
	require.Equal(t, 0.0, a.gauge("worker_quota_fallback"))

	srv.Stop()
	require.Eventually(t, func() bool { return a.gauge("worker_quota_fallback") == 1 }, wait, tick)
	require.InDelta(t, groupRate/2, a.gauge("worker_quota_share_calls_per_second"), 0.01,
		"the quota over the members last counted")
	require.NoError(t, a.Take(t.Context()), "calls go on at the local share")
	require.Equal(t, 1, a.logs.count("quota bucket unavailable"))

	srv.Restart()
	for _, m := range []*member{a, b} {
		require.Eventually(t, func() bool { return m.gauge("worker_quota_fallback") == 0 }, wait, tick)
		require.Equal(t, 1, m.logs.count("quota bucket unavailable"), "one line per change of state")
		require.Equal(t, 1, m.logs.count("quota bucket back"))
	}
	require.Eventually(t, func() bool { return a.gauge("worker_quota_members") == 2 }, wait, tick)
	require.NoError(t, b.Take(t.Context()), "the group's schedule works again")
}

func TestFleetWithoutJetStreamHoldsToTheFallbackShare(t *testing.T) {
	srv := natstest.Start(t, func(o *server.Options) { o.JetStream = false })
	cfg := testConfig()
	cfg.FallbackReplicas = 4
	a := join(t, srv, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	require.NoError(t, a.Ready(ctx))
	require.NoError(t, a.Take(ctx))
	require.Equal(t, 1.0, a.gauge("worker_quota_fallback"))
	require.InDelta(t, groupRate/4, a.gauge("worker_quota_share_calls_per_second"), 0.01,
		"the quota over FallbackReplicas when the members were never known")
	require.Equal(t, 1, a.logs.count("quota bucket unavailable"))
}

func TestFleetFrozenMemberDoesNotBurstWhenItResumes(t *testing.T) {
	srv := natstest.Start(t)
	var z freezer
	a, f := join(t, srv, testConfig()), join(t, srv, testConfig(), z.attach)
	require.Eventually(t, func() bool { return a.gauge("worker_quota_members") == 2 }, wait, tick)
	ba, bf := keepBusy(a), keepBusy(f)
	defer ba.halt()
	defer bf.halt()
	require.Eventually(t, func() bool { return near(ba.spacing(4), 2) && near(bf.spacing(4), 2) }, wait, tick)

	z.freeze() // f stops with a slot reserved and its heartbeats stop
	require.Eventually(t, func() bool { return a.gauge("worker_quota_members") == 1 && near(ba.spacing(6), 1) }, wait, tick,
		"a takes the frozen member's share")
	n := len(bf.taken())
	resumed := time.Now()
	z.resume()

	require.Eventually(t, func() bool { return len(bf.taken()) > n && time.Since(resumed) > time.Second }, wait, tick)
	var first []time.Time
	for _, s := range bf.taken()[n:] {
		if s.Before(resumed.Add(time.Second)) {
			first = append(first, s)
		}
	}
	require.NotEmpty(t, first)
	require.False(t, first[0].Before(resumed), "the slot reserved before the freeze is not used")
	require.LessOrEqual(t, len(first), testRate/2+2, "in its first second back f stays within its share")
	require.Eventually(t, func() bool { return near(bf.spacing(4), 2) }, wait, tick, "f is back in turn")
}
