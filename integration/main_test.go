//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
)

// suite is what TestMain prepares once for all scenarios.
var suite struct {
	// skip says why the tests cannot run; empty when they can.
	skip       string
	provider   *testcontainers.DockerProvider
	natsImage  string
	workerImg  string
	fakeImage  string
	reportRows []reportRow
}

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	// The reaper image cannot be pulled offline; only the exact string
	// "true" turns it off. Containers are removed by t.Cleanup, and by
	// session label in .ci/integration.sh when a run is cut short.
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	// The suite pins NATS client ports on 127.0.0.1, so it needs the
	// engine on this host. Say so: inside a container (a /.dockerenv
	// exists) testcontainers would otherwise dial the default gateway.
	if os.Getenv("TESTCONTAINERS_HOST_OVERRIDE") == "" {
		_ = os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	p, err := dockerProvider(ctx)
	if err != nil {
		if os.Getenv("CI") != "" {
			fmt.Fprintf(os.Stderr, "integration: Docker is required when CI is set: %v\n", err)
			return 1
		}
		suite.skip = fmt.Sprintf("Docker is not reachable: %v", err)
		return m.Run()
	}
	defer func() { _ = p.Close() }()
	suite.provider = p

	start := time.Now()
	imgs, err := buildImages(ctx, p)
	if err != nil {
		fmt.Fprintf(os.Stderr, "integration: %v\n", err)
		return 1
	}
	defer imgs.remove(context.Background(), p)
	suite.natsImage, suite.workerImg, suite.fakeImage = imgs.nats, imgs.worker, imgs.fake
	fmt.Printf("integration: images built in %s\n", time.Since(start).Round(time.Second))

	code := m.Run()
	printReport(os.Stdout, suite.reportRows)
	return code
}

func dockerProvider(ctx context.Context) (*testcontainers.DockerProvider, error) {
	p, err := testcontainers.NewDockerProvider()
	if err != nil {
		return nil, fmt.Errorf("docker provider: %w", err)
	}
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := p.Health(hctx); err != nil {
		_ = p.Close()
		return nil, fmt.Errorf("docker health: %w", err)
	}
	return p, nil
}

// requireDocker skips the test when TestMain found no Docker outside CI.
func requireDocker(t *testing.T) {
	t.Helper()
	if suite.skip != "" {
		t.Skip(suite.skip)
	}
}
