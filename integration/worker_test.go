//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
)

const (
	fakeAlias   = "clarifai"
	fakeLatency = 30 * time.Millisecond
	testPAT     = "test-pat"
)

// startFake runs the fake Clarifai server on the test network; extra
// adds to its environment. It demands the PAT, so a worker that lost its
// credentials would fail loudly.
func startFake(ctx context.Context, t *testing.T, nw *testcontainers.DockerNetwork, extra map[string]string) *testcontainers.DockerContainer {
	t.Helper()
	env := map[string]string{
		"FAKE_CLARIFAI_LISTEN":  ":50051",
		"FAKE_CLARIFAI_LATENCY": fakeLatency.String(),
		"FAKE_CLARIFAI_PAT":     testPAT,
		"FAKE_CLARIFAI_ADMIN":   ":8080",
	}
	maps.Copy(env, extra)
	c, err := testcontainers.Run(ctx, suite.fakeImage,
		testcontainers.WithEnv(env),
		testcontainers.WithExposedPorts("8080/tcp"),
		network.WithNetwork([]string{fakeAlias}, nw),
		testcontainers.WithWaitStrategy(wait.ForLog("fakeclarifai: serving on").WithStartupTimeout(30*time.Second)),
	)
	testcontainers.CleanupContainer(t, c)
	require.NoError(t, err)
	dumpLogsOnFailure(t, "fakeclarifai", c)
	return c
}

// fakeAdmin sends a request to the fake Clarifai server's admin endpoint
// and returns the body of its answer.
func fakeAdmin(ctx context.Context, t *testing.T, c *testcontainers.DockerContainer, method, path string) string {
	t.Helper()
	base, err := c.PortEndpoint(ctx, "8080/tcp", "http")
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(ctx, method, base+path, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	return string(b)
}

// fakeStats is what the fake Clarifai server has answered.
type fakeStats struct{ Calls, Inputs, Throttled int }

func fakeCounts(ctx context.Context, t *testing.T, c *testcontainers.DockerContainer) fakeStats {
	t.Helper()
	var stats fakeStats
	require.NoError(t, json.Unmarshal([]byte(fakeAdmin(ctx, t, c, http.MethodGet, "/stats")), &stats))
	return stats
}

// fakeCalls is how many calls the fake Clarifai server has answered.
func fakeCalls(ctx context.Context, t *testing.T, c *testcontainers.DockerContainer) int {
	t.Helper()
	return fakeCounts(ctx, t, c).Calls
}

// readyz returns a worker's /readyz status and body.
func readyz(ctx context.Context, c *testcontainers.DockerContainer) (int, string) {
	base, err := c.PortEndpoint(ctx, "9090/tcp", "http")
	if err != nil {
		return 0, err.Error()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
	if err != nil {
		return 0, err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// fakeInputs stops the fake Clarifai server and returns how many inputs it
// was asked to predict, from the line it logs when it stops.
func fakeInputs(ctx context.Context, t *testing.T, c *testcontainers.DockerContainer) int {
	t.Helper()
	stop(ctx, t, c, 10*time.Second)
	rc, err := c.Logs(ctx)
	require.NoError(t, err)
	defer func() { _ = rc.Close() }()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	for line := range strings.Lines(string(b)) {
		var calls, inputs int
		if i := strings.Index(line, "stopped after "); i >= 0 {
			if _, err := fmt.Sscanf(line[i:], "stopped after %d calls, %d inputs", &calls, &inputs); err == nil {
				return inputs
			}
		}
	}
	t.Fatalf("the fake Clarifai server did not say how many inputs it saw:\n%s", b)
	return 0
}

// workerEnv is the worker's configuration in every scenario; extra
// overrides it.
func workerEnv(natsURL string, extra map[string]string) map[string]string {
	env := map[string]string{
		"NATS_URL":            natsURL,
		"WORKER_PREDICTOR":    "clarifai",
		"CLARIFAI_ENDPOINT":   fakeAlias + ":50051",
		"CLARIFAI_INSECURE":   "true",
		"CLARIFAI_PAT":        testPAT,
		"CLARIFAI_RATE_LIMIT": "200",
		"WORKER_ACK_WAIT":     "5s",
		"LOG_LEVEL":           "info",
		"LOG_FORMAT":          "json",
	}
	maps.Copy(env, extra)
	return env
}

// startWorker runs one worker replica and waits until it is ready:
// connected to NATS and bound to the durable consumer. extra adds to the
// container (files, say).
func startWorker(ctx context.Context, t *testing.T, nw *testcontainers.DockerNetwork, name string, env map[string]string, extra ...testcontainers.ContainerCustomizer) *testcontainers.DockerContainer {
	t.Helper()
	c, err := testcontainers.Run(ctx, suite.workerImg, append([]testcontainers.ContainerCustomizer{
		testcontainers.WithCmd("run"),
		testcontainers.WithEnv(env),
		testcontainers.WithExposedPorts("9090/tcp"),
		network.WithNetwork([]string{name}, nw),
		testcontainers.WithWaitStrategy(wait.ForHTTP("/readyz").WithPort("9090/tcp").
			WithStartupTimeout(60 * time.Second).WithPollInterval(200 * time.Millisecond)),
	}, extra...)...)
	testcontainers.CleanupContainer(t, c)
	require.NoError(t, err, name)
	dumpLogsOnFailure(t, name, c)
	return c
}

// dumpLogsOnFailure logs the tail of a container's output if the test
// failed. Registered after CleanupContainer, it runs before removal.
func dumpLogsOnFailure(t *testing.T, name string, c *testcontainers.DockerContainer) {
	t.Helper()
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rc, err := c.Logs(ctx)
		if err != nil {
			t.Logf("%s: no logs: %v", name, err)
			return
		}
		defer func() { _ = rc.Close() }()
		b, _ := io.ReadAll(rc)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) > 40 {
			lines = lines[len(lines)-40:]
		}
		t.Logf("last %d log lines of %s:\n%s", len(lines), name, strings.Join(lines, "\n"))
	})
}

func workerName(i int) string { return fmt.Sprintf("worker-%d", i) }
