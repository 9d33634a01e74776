package embedded

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/rs/zerolog"
)

// readyTimeout bounds the wait for the listener when ctx has no deadline.
const readyTimeout = 10 * time.Second

// Server is a running in-process NATS server with JetStream.
type Server struct {
	ns   *server.Server
	log  zerolog.Logger
	once sync.Once
}

// Start starts the server and returns once it accepts connections. ctx
// bounds only the start; the server runs until Shutdown.
func Start(ctx context.Context, cfg Config, log zerolog.Logger) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	host, port, _ := cfg.hostPort()
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("embedded: data dir: %w", err)
	}
	opts := &server.Options{
		ServerName:             "image-worker-embedded",
		Host:                   host,
		Port:                   port,
		MaxPayload:             int32(cfg.MaxPayload),
		JetStream:              true,
		StoreDir:               cfg.DataDir,
		JetStreamMaxMemory:     cfg.MaxMemory,
		JetStreamMaxStore:      cfg.MaxStore,
		NoSigs:                 true, // signals belong to main
		DisableJetStreamBanner: true,
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded: new server: %w", err)
	}
	log = log.With().Str("component", "nats-server").Logger()
	fatal := make(chan string, 1)
	ns.SetLoggerV2(serverLogger{log: log, fatal: fatal}, false, false, false)
	ns.Start()
	s := &Server{ns: ns, log: log}
	if err := waitReady(ctx, ns, fatal); err != nil {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	log.Info().Str("url", s.ClientURL()).Str("data_dir", cfg.DataDir).
		Int64("max_memory", cfg.MaxMemory).Int64("max_store", cfg.MaxStore).
		Int64("max_payload", cfg.MaxPayload).Msg("embedded NATS server ready")
	return s, nil
}

// waitReady polls in short steps so that a fatal start error or a
// cancelled ctx ends the wait early.
func waitReady(ctx context.Context, ns *server.Server, fatal <-chan string) error {
	deadline := time.Now().Add(readyTimeout)
	if dl, ok := ctx.Deadline(); ok {
		deadline = dl
	}
	for !ns.ReadyForConnections(20 * time.Millisecond) {
		select {
		case msg := <-fatal:
			return fmt.Errorf("%w: %s", ErrNotReady, msg)
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrNotReady, ctx.Err())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: timed out", ErrNotReady)
		}
	}
	return nil
}

// ClientURL is the nats:// URL clients connect to.
func (s *Server) ClientURL() string {
	return s.ns.ClientURL()
}

// Shutdown stops the server and waits until it has closed its store.
// It is safe to call more than once.
func (s *Server) Shutdown() {
	s.once.Do(func() {
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
		s.log.Info().Msg("embedded NATS server stopped")
	})
}
