//go:build integration

package integration

import (
	"context"
	"testing"
	"time"

	mobynet "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
)

// kill sends SIGKILL: the process dies with no chance to clean up, as in a
// crash or an OOM kill. The container and its filesystem stay, so Start
// brings the same server back with its data.
func kill(ctx context.Context, t *testing.T, c *testcontainers.DockerContainer) {
	t.Helper()
	_, err := suite.provider.Client().ContainerKill(ctx, c.GetContainerID(), client.ContainerKillOptions{Signal: "SIGKILL"})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		st, err := c.State(ctx)
		return err == nil && !st.Running
	}, 30*time.Second, 100*time.Millisecond, "container still running after SIGKILL")
}

// stop sends SIGTERM and waits up to grace for a clean exit, as an
// orchestrator does.
func stop(ctx context.Context, t *testing.T, c *testcontainers.DockerContainer, grace time.Duration) {
	t.Helper()
	require.NoError(t, c.Stop(ctx, &grace))
}

// exitCode reports how a stopped container ended.
func exitCode(ctx context.Context, t *testing.T, c *testcontainers.DockerContainer) int {
	t.Helper()
	st, err := c.State(ctx)
	require.NoError(t, err)
	require.False(t, st.Running)
	return st.ExitCode
}

// disconnect cuts the container off the test network: its connections
// stall, as in a partition, while the process keeps running.
func disconnect(ctx context.Context, t *testing.T, nw *testcontainers.DockerNetwork, c *testcontainers.DockerContainer) {
	t.Helper()
	_, err := suite.provider.Client().NetworkDisconnect(ctx, nw.ID, client.NetworkDisconnectOptions{Container: c.GetContainerID(), Force: true})
	require.NoError(t, err)
}

// reconnect heals the partition; aliases restore the container's name.
func reconnect(ctx context.Context, t *testing.T, nw *testcontainers.DockerNetwork, c *testcontainers.DockerContainer, aliases ...string) {
	t.Helper()
	_, err := suite.provider.Client().NetworkConnect(ctx, nw.ID, client.NetworkConnectOptions{
		Container:      c.GetContainerID(),
		EndpointConfig: &mobynet.EndpointSettings{Aliases: aliases},
	})
	require.NoError(t, err)
}
