package embedded_test

import (
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/embedded"
)

func TestRestartKeepsFileStream(t *testing.T) {
	cfg := testConfig(t)
	ctx := t.Context()

	s := start(t, cfg)
	js := connect(t, s)
	_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "IMAGES", Subjects: []string{"images.>"}, Storage: jetstream.FileStorage})
	require.NoError(t, err)
	for i := range 3 {
		_, err := js.Publish(ctx, "images.upload", fmt.Appendf(nil, "event %d", i))
		require.NoError(t, err)
	}
	s.Shutdown()
	s.Shutdown() // idempotent
	require.DirExists(t, filepath.Join(cfg.DataDir, "jetstream"))

	js2 := connect(t, start(t, cfg))
	cons, err := js2.OrderedConsumer(ctx, "IMAGES", jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	batch, err := cons.FetchNoWait(10)
	require.NoError(t, err)
	var got []string
	for m := range batch.Messages() {
		got = append(got, string(m.Data()))
	}
	require.NoError(t, batch.Error())
	require.Equal(t, []string{"event 0", "event 1", "event 2"}, got)
}

func TestLargePayloadAccepted(t *testing.T) {
	js := connect(t, start(t, testConfig(t)))
	require.EqualValues(t, embedded.DefaultMaxPayload, js.Conn().MaxPayload())

	ctx := t.Context()
	_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "PREDICTIONS", Subjects: []string{"predictions.>"}})
	require.NoError(t, err)
	big := make([]byte, 3<<20) // a result with masks, above NATS' usual 1 MiB
	ack, err := js.Publish(ctx, "predictions.local-color", big)
	require.NoError(t, err)
	require.EqualValues(t, 1, ack.Sequence)
}

func TestAddressInUseFailsFast(t *testing.T) {
	s := start(t, testConfig(t))
	u, err := url.Parse(s.ClientURL())
	require.NoError(t, err)

	cfg := testConfig(t)
	cfg.Listen = u.Host
	began := time.Now()
	_, err = embedded.Start(t.Context(), cfg, zerolog.Nop())
	require.ErrorIs(t, err, embedded.ErrNotReady)
	require.Less(t, time.Since(began), 5*time.Second)
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     embedded.Config
		wantErr string
	}{
		{name: "zero means defaults", cfg: embedded.Config{}},
		{name: "random port 0", cfg: embedded.Config{Listen: "127.0.0.1:0"}},
		{name: "no port", cfg: embedded.Config{Listen: "localhost"}, wantErr: "WORKER_EMBEDDED_LISTEN"},
		{name: "bad port", cfg: embedded.Config{Listen: "127.0.0.1:http"}, wantErr: "WORKER_EMBEDDED_LISTEN"},
		{name: "negative store", cfg: embedded.Config{MaxStore: -1}, wantErr: "MaxStore"},
		{name: "negative memory", cfg: embedded.Config{MaxMemory: -1}, wantErr: "MaxMemory"},
		{name: "payload above server limit", cfg: embedded.Config{MaxPayload: 65 << 20}, wantErr: "MaxPayload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, embedded.ErrInvalidConfig)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

// testConfig: random port, the test's temp dir, small limits.
func testConfig(t testing.TB) embedded.Config {
	return embedded.Config{Listen: "127.0.0.1:-1", DataDir: t.TempDir(), MaxMemory: 32 << 20, MaxStore: 256 << 20}
}

// start runs a server until the test ends.
func start(t testing.TB, cfg embedded.Config) *embedded.Server {
	t.Helper()
	srv, err := embedded.Start(t.Context(), cfg, zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(srv.Shutdown)
	return srv
}

// connect opens a JetStream client to srv, closed when the test ends.
func connect(t testing.TB, srv *embedded.Server) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return js
}
