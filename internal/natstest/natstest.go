package natstest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Server is an in-process JetStream server that can be restarted on the
// same port and store.
type Server struct {
	*server.Server
	opts *server.Options
	tb   testing.TB
}

// Start starts a server with file storage under a temp dir; opts may
// adjust the options first. The server stops when the test ends.
func Start(tb testing.TB, opts ...func(*server.Options)) *Server {
	tb.Helper()
	o := &server.Options{
		Host:               "127.0.0.1",
		Port:               -1,
		JetStream:          true,
		StoreDir:           tb.TempDir(),
		JetStreamMaxMemory: 64 << 20,
		JetStreamMaxStore:  1 << 30,
		MaxPayload:         8 << 20,
		NoLog:              true,
		NoSigs:             true,
	}
	for _, f := range opts {
		f(o)
	}
	s := &Server{opts: o, tb: tb}
	s.start()
	// Later restarts keep the port that was picked.
	s.opts.Port = s.Addr().(*net.TCPAddr).Port
	tb.Cleanup(s.Stop)
	return s
}

func (s *Server) start() {
	s.tb.Helper()
	ns, err := server.NewServer(s.opts.Clone())
	if err != nil {
		s.tb.Fatalf("nats server: %v", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		s.tb.Fatal("nats server not ready")
	}
	s.Server = ns
}

// Stop shuts the server down and waits for it.
func (s *Server) Stop() {
	s.Shutdown()
	s.WaitForShutdown()
}

// Restart stops the server and starts it again on the same port and store.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Stop()
	s.start()
}

// Connect returns a client connection that reconnects forever, and its
// JetStream context; both are closed when the test ends.
func Connect(tb testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	tb.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatalf("jetstream: %v", err)
	}
	return nc, js
}

// JetStream starts a server, creates the streams and connects to it.
func JetStream(tb testing.TB, streams ...jetstream.StreamConfig) jetstream.JetStream {
	tb.Helper()
	_, js := Connect(tb, Start(tb).ClientURL())
	for _, s := range streams {
		if _, err := js.CreateStream(context.Background(), s); err != nil {
			tb.Fatalf("stream %s: %v", s.Name, err)
		}
	}
	return js
}
