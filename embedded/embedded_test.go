package embedded_test

import (
	"context"
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

func start(t *testing.T, cfg embedded.Config) *embedded.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	s, err := embedded.Start(ctx, cfg, zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(s.Shutdown)
	return s
}

func connect(t *testing.T, s *embedded.Server) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(s.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return js
}

func testConfig(dir string) embedded.Config {
	return embedded.Config{Listen: "127.0.0.1:-1", DataDir: dir, MaxMemory: 16 << 20, MaxStore: 64 << 20}
}

func TestRestartKeepsFileStream(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()

	s := start(t, testConfig(dir))
	js := connect(t, s)
	_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "IMAGES", Subjects: []string{"images.>"}, Storage: jetstream.FileStorage})
	require.NoError(t, err)
	for i := range 3 {
		_, err := js.Publish(ctx, "images.upload", fmt.Appendf(nil, "event %d", i))
		require.NoError(t, err)
	}
	s.Shutdown()
	s.Shutdown() // idempotent
	require.DirExists(t, filepath.Join(dir, "jetstream"))

	s2 := start(t, testConfig(dir))
	js2 := connect(t, s2)
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
	s := start(t, testConfig(t.TempDir()))
	js := connect(t, s)
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
	s := start(t, testConfig(t.TempDir()))
	u, err := url.Parse(s.ClientURL())
	require.NoError(t, err)

	cfg := testConfig(t.TempDir())
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
		{name: "no port", cfg: embedded.Config{Listen: "localhost"}, wantErr: "Listen"},
		{name: "bad port", cfg: embedded.Config{Listen: "127.0.0.1:http"}, wantErr: "Listen"},
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
