//go:build integration

package integration

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	mobynet "github.com/moby/moby/api/types/network"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
)

// natsConf caps JetStream's memory and disk: with flags alone a server
// claims 75% of the host's RAM and free disk, too much for three on a
// small machine.
const natsConf = `jetstream {
  store_dir: "/data"
  max_mem_store: 128MB
  max_file_store: 1GB
}
`

// natsNode is one nats-server container. Its client port is pinned on the
// host: Docker picks a new random host port when a container restarts, and
// a client holding the old one would never reconnect.
type natsNode struct {
	name     string // server_name, and its alias on the test network
	c        *testcontainers.DockerContainer
	hostPort int
}

// hostURL is how the test process reaches the node.
func (n *natsNode) hostURL() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.hostPort) }

// netURL is how containers on the test network reach the node.
func (n *natsNode) netURL() string { return "nats://" + n.name + ":4222" }

func joinURLs(nodes []*natsNode, url func(*natsNode) string) string {
	urls := make([]string, len(nodes))
	for i, n := range nodes {
		urls[i] = url(n)
	}
	return strings.Join(urls, ",")
}

// freePort finds a port that is free now, below the kernel's ephemeral
// range (32768 and up by default). Docker takes the random host ports it
// publishes from that range, so a port the kernel handed out and that was
// released again could be taken by another container before ours starts.
func freePort(t *testing.T) int {
	t.Helper()
	for range 100 {
		port := 20000 + rand.IntN(12000)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		require.NoError(t, l.Close())
		return port
	}
	t.Fatal("no free port in 20000-31999")
	return 0
}

// natsRequest describes a node; cluster holds the names of all nodes of
// its cluster, nil for a single server.
func natsRequest(t *testing.T, nw *testcontainers.DockerNetwork, name string, cluster []string) (*natsNode, []testcontainers.ContainerCustomizer) {
	t.Helper()
	n := &natsNode{name: name, hostPort: freePort(t)}
	cmd := []string{"-c", "/etc/nats.conf", "--server_name", name, "-m", "8222"}
	if cluster != nil {
		routes := make([]string, len(cluster))
		for i, peer := range cluster {
			routes[i] = "nats://" + peer + ":6222"
		}
		// --no_advertise keeps the containers' addresses out of INFO, so
		// that clients on the host stay on the pinned ports.
		cmd = append(cmd, "--cluster_name", "C1", "--cluster", "nats://0.0.0.0:6222",
			"--routes", strings.Join(routes, ","), "--no_advertise")
	}
	opts := []testcontainers.ContainerCustomizer{
		testcontainers.WithCmd(cmd...),
		testcontainers.WithFiles(testcontainers.ContainerFile{
			Reader: strings.NewReader(natsConf), ContainerFilePath: "/etc/nats.conf", FileMode: 0o644,
		}),
		testcontainers.WithExposedPorts("4222/tcp", "8222/tcp"),
		network.WithNetwork([]string{name}, nw),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			if hc.PortBindings == nil {
				hc.PortBindings = mobynet.PortMap{}
			}
			hc.PortBindings[mobynet.MustParsePort("4222/tcp")] = []mobynet.PortBinding{{
				HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: strconv.Itoa(n.hostPort),
			}}
		}),
		testcontainers.WithWaitStrategy(wait.ForLog("Server is ready").WithStartupTimeout(60 * time.Second)),
	}
	return n, opts
}

// startNATS runs a single JetStream server with file storage.
func startNATS(ctx context.Context, t *testing.T, nw *testcontainers.DockerNetwork) *natsNode {
	t.Helper()
	n, opts := natsRequest(t, nw, "nats", nil)
	c, err := testcontainers.Run(ctx, suite.natsImage, opts...)
	testcontainers.CleanupContainer(t, c)
	require.NoError(t, err)
	n.c = c
	dumpLogsOnFailure(t, n.name, c)
	waitHealthy(ctx, t, n)
	return n
}

// startCluster runs three JetStream servers routed to each other. They
// start together: a node is not healthy until a meta leader is elected,
// which needs a quorum.
func startCluster(ctx context.Context, t *testing.T, nw *testcontainers.DockerNetwork) []*natsNode {
	t.Helper()
	names := []string{"n1", "n2", "n3"}
	nodes := make([]*natsNode, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		n, opts := natsRequest(t, nw, name, names)
		nodes[i] = n
		wg.Go(func() {
			n.c, errs[i] = testcontainers.Run(ctx, suite.natsImage, opts...)
		})
	}
	wg.Wait()
	for i, n := range nodes {
		testcontainers.CleanupContainer(t, n.c)
		require.NoError(t, errs[i], n.name)
		dumpLogsOnFailure(t, n.name, n.c)
	}
	for _, n := range nodes {
		waitHealthy(ctx, t, n)
	}
	return nodes
}

// waitHealthy polls the node's /healthz until JetStream is current: after
// a restart the old "Server is ready" line is still in the log, so the log
// wait alone proves nothing.
func waitHealthy(ctx context.Context, t *testing.T, n *natsNode) {
	t.Helper()
	var last error
	ok := pollUntil(ctx, 60*time.Second, func(ctx context.Context) bool {
		url, err := n.c.PortEndpoint(ctx, "8222/tcp", "http")
		if err != nil {
			last = err
			return false
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/healthz", nil)
		if err != nil {
			last = err
			return false
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			last = err
			return false
		}
		_ = resp.Body.Close()
		last = fmt.Errorf("%s/healthz: %s", url, resp.Status)
		return resp.StatusCode == http.StatusOK
	})
	require.True(t, ok, "%s never became healthy: %v", n.name, last)
}

// pollUntil calls cond every 250ms until it holds, within or ctx ends.
// Each call gets its own short deadline: a request in flight when a
// server dies gets no answer, and would otherwise wait for ctx's deadline.
func pollUntil(ctx context.Context, within time.Duration, cond func(context.Context) bool) bool {
	deadline := time.Now().Add(within)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	attempt := func() bool {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return cond(actx)
	}
	for !attempt() {
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return false
		}
	}
	return true
}
