package embeddedtest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/embedded"
)

// Config is what Start uses: random port, the test's temp dir, limits
// small enough for a shared machine.
func Config(t testing.TB) embedded.Config {
	return embedded.Config{Listen: "127.0.0.1:-1", DataDir: t.TempDir(), MaxMemory: 32 << 20, MaxStore: 256 << 20}
}

// Start runs a server until the test ends.
func Start(t testing.TB, cfg embedded.Config) *embedded.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	srv, err := embedded.Start(ctx, cfg, zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(srv.Shutdown)
	return srv
}

// Connect opens a JetStream client to srv, closed when the test ends.
func Connect(t testing.TB, srv *embedded.Server) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return js
}

// JetStream starts a server with Config, creates streams and connects.
func JetStream(t testing.TB, streams ...jetstream.StreamConfig) jetstream.JetStream {
	t.Helper()
	js := Connect(t, Start(t, Config(t)))
	for _, s := range streams {
		_, err := js.CreateStream(t.Context(), s)
		require.NoError(t, err)
	}
	return js
}
