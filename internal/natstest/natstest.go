package natstest

import (
	"context"
	"fmt"
	"net"
	"strings"
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
	o := defaultOptions(tb)
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

func defaultOptions(tb testing.TB) *server.Options {
	return &server.Options{
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

// Restart stops the server and starts it again on the same port and
// store; opts may change its options first (a smaller max_payload, say).
func (s *Server) Restart(opts ...func(*server.Options)) {
	s.tb.Helper()
	s.Stop()
	for _, f := range opts {
		f(s.opts)
	}
	s.start()
}

// StartCluster starts n servers routed to each other as one JetStream
// cluster and waits until it has a meta leader; opts may adjust each
// server's options. Replicated streams and consumers behave differently
// from single-server ones (a replicated consumer sends a message only
// once its delivery is replicated).
func StartCluster(tb testing.TB, n int, opts ...func(*server.Options)) []*Server {
	tb.Helper()
	ports := make([]int, n)
	routes := make([]string, n)
	for i := range ports {
		ports[i] = freePort(tb)
		routes[i] = fmt.Sprintf("nats://127.0.0.1:%d", ports[i])
	}
	// A clustered server is ready only once there is a quorum, so all
	// start before any is waited for.
	nodes := make([]*Server, n)
	for i := range nodes {
		o := defaultOptions(tb)
		o.ServerName = fmt.Sprintf("n%d", i+1)
		o.Cluster = server.ClusterOpts{Name: "test", Host: "127.0.0.1", Port: ports[i]}
		o.Routes = server.RoutesFromStr(strings.Join(routes, ","))
		for _, f := range opts {
			f(o)
		}
		ns, err := server.NewServer(o.Clone())
		if err != nil {
			tb.Fatalf("nats server: %v", err)
		}
		ns.Start()
		nodes[i] = &Server{Server: ns, opts: o, tb: tb}
		tb.Cleanup(nodes[i].Stop)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !clusterReady(nodes) {
		if time.Now().After(deadline) {
			tb.Fatal("cluster has no JetStream meta leader")
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
	for _, s := range nodes {
		s.opts.Port = s.Addr().(*net.TCPAddr).Port
	}
	return nodes
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// clusterReady: every node follows an elected meta leader, and the
// leader counts every node as an online peer (before that, creating a
// replicated stream fails for want of peers).
func clusterReady(nodes []*Server) bool {
	var leader *Server
	for _, s := range nodes {
		if !s.JetStreamIsCurrent() {
			return false
		}
		if s.JetStreamIsLeader() {
			leader = s
		}
	}
	return leader != nil && len(leader.JetStreamClusterPeers()) == len(nodes)
}

// ClientURLs lists the servers' client URLs for nats.Connect.
func ClientURLs(nodes []*Server) string {
	urls := make([]string, len(nodes))
	for i, s := range nodes {
		urls[i] = s.ClientURL()
	}
	return strings.Join(urls, ",")
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
