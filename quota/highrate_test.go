package quota

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/internal/natstest"
)

// TestFleetAtAHighRate: with a quota of a million calls a second (a gap of
// a microsecond), calls still go out: waking a little late for a slot is
// not taken for a stall.
func TestFleetAtAHighRate(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	f, err := NewFleet(js, FleetConfig{Group: "fast", RateLimit: 1e6}, zerolog.Nop(), nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = f.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	tctx, tcancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer tcancel()
	for range 200 {
		require.NoError(t, f.Ready(tctx))
		require.NoError(t, f.Take(tctx))
	}
}
