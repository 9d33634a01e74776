package quota

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
)

func TestQuotaThrottleSlowsDownThenRecovers(t *testing.T) {
	q := NewLocal(16, 1, 200*time.Millisecond)

	require.True(t, q.Throttled())
	require.False(t, q.Throttled(), "calls throttled in the same pause cut the rate once")
	require.Equal(t, rate.Limit(8), q.lim.Limit())
	require.Greater(t, q.pausedFor(time.Now()), 100*time.Millisecond)

	start := time.Now()
	require.NoError(t, q.Ready(t.Context()))
	require.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond, "ready waits out the pause")

	require.True(t, q.Throttled())
	require.Equal(t, rate.Limit(4), q.lim.Limit())
	for range 3 {
		q.Throttled()
		q.pauseUntil = time.Time{} // end the pause at once
	}
	require.Equal(t, rate.Limit(2), q.lim.Limit(), "never below an eighth of the configured rate")

	for range 40 {
		q.Succeeded()
	}
	require.Equal(t, rate.Limit(16), q.lim.Limit(), "successes restore the configured rate, no more")
}
