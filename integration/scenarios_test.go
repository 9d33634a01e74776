//go:build integration

package integration

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
)

// stack is one scenario's world: a private network, NATS, the fake
// Clarifai server and worker replicas.
type stack struct {
	nw      *testcontainers.DockerNetwork
	nodes   []*natsNode
	js      jetstream.JetStream
	env     map[string]string
	workers []*testcontainers.DockerContainer
}

// newStack starts everything and waits until every worker is ready, so
// that the streams and the durable consumer exist before events flow.
func newStack(ctx context.Context, t *testing.T, cluster bool, workers int, extra map[string]string) *stack {
	t.Helper()
	requireDocker(t)
	nw, err := network.New(ctx)
	testcontainers.CleanupNetwork(t, nw)
	require.NoError(t, err)
	s := &stack{nw: nw}
	if cluster {
		s.nodes = startCluster(ctx, t, nw)
	} else {
		s.nodes = []*natsNode{startNATS(ctx, t, nw)}
	}
	startFake(ctx, t, nw)
	s.env = workerEnv(joinURLs(s.nodes, (*natsNode).netURL), extra)
	for i := range workers {
		s.addWorker(ctx, t, i)
	}
	s.js = connect(t, joinURLs(s.nodes, (*natsNode).hostURL))
	return s
}

func (s *stack) addWorker(ctx context.Context, t *testing.T, i int) *testcontainers.DockerContainer {
	t.Helper()
	c := startWorker(ctx, t, s.nw, workerName(i), maps.Clone(s.env))
	s.workers = append(s.workers, c)
	return c
}

// finish waits for the publisher and for every event to settle, then
// checks that each ended exactly once.
func (s *stack) finish(ctx context.Context, t *testing.T, p *publisher, ids []string, started time.Time) (counts, map[string]int) {
	t.Helper()
	p.wait(t)
	waitSettled(ctx, t, s.js, len(ids), 3*time.Minute)
	c, _, dead := account(ctx, t, s.js, ids, started)
	c.PubRetries = int(p.retries.Load())
	requireExactlyOnce(t, c)
	return c, dead
}

// underLoad publishes n events at perSecond, injects the fault once
// faultAfter of them are out, and checks what became of all n.
func (s *stack) underLoad(ctx context.Context, t *testing.T, n, perSecond, faultAfter int, fault func(p *publisher)) counts {
	t.Helper()
	ids := eventIDs(n)
	started := time.Now()
	p := publish(ctx, s.js, ids, nil, perSecond)
	p.waitPublished(t, faultAfter)
	fault(p)
	c, _ := s.finish(ctx, t, p, ids, started)
	return c
}

func scenarioContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// Three replicas share the durable consumer; a few events are invalid and
// must become dead letters, the rest results.
func TestHappyPathThreeReplicas(t *testing.T) {
	ctx := scenarioContext(t)
	s := newStack(ctx, t, false, 3, nil)

	ids := eventIDs(3000)
	bad := map[string]bool{}
	for i := 0; i < len(ids); i += 100 {
		bad[ids[i]] = true
	}
	started := time.Now()
	p := publish(ctx, s.js, ids, bad, 0)
	_, dead := s.finish(ctx, t, p, ids, started)
	require.Len(t, dead, len(bad))
	for id := range dead {
		require.True(t, bad[id], "valid event %s was dead-lettered", id)
	}
}

// The only NATS server stops (SIGTERM) and comes back with its file store
// while events are being published and processed.
func TestNATSServerRestart(t *testing.T) {
	ctx := scenarioContext(t)
	s := newStack(ctx, t, false, 2, nil)

	s.underLoad(ctx, t, 2000, 250, 500, func(*publisher) {
		n := s.nodes[0]
		stop(ctx, t, n.c, 10*time.Second)
		require.NoError(t, n.c.Start(ctx))
		waitHealthy(ctx, t, n)
	})
}

// Three-node cluster, R3 streams: the input stream's leader is killed
// mid-stream and restarted once another node has taken over.
func TestClusterStreamLeaderKilled(t *testing.T) {
	ctx := scenarioContext(t)
	s := newStack(ctx, t, true, 2, map[string]string{"WORKER_STREAM_REPLICAS": "3"})

	str, err := s.js.Stream(ctx, inputStream)
	require.NoError(t, err)
	info, err := str.Info(ctx)
	require.NoError(t, err)
	require.Len(t, info.Cluster.Replicas, 2, "input stream is R3")

	leader := info.Cluster.Leader
	var victim *natsNode
	for _, n := range s.nodes {
		if n.name == leader {
			victim = n
		}
	}
	require.NotNil(t, victim, "leader %q is none of the nodes", leader)

	s.underLoad(ctx, t, 2000, 250, 500, func(p *publisher) {
		kill(ctx, t, victim.c)
		var last string
		require.True(t, pollUntil(ctx, 60*time.Second, func(ctx context.Context) bool {
			info, err := str.Info(ctx)
			if err != nil {
				last = err.Error()
				return false
			}
			last = "leader " + info.Cluster.Leader
			return info.Cluster.Leader != "" && info.Cluster.Leader != leader
		}), "no new leader after killing %s: %s", leader, last)
		p.waitPublished(t, 1200)
		require.NoError(t, victim.c.Start(ctx))
		waitHealthy(ctx, t, victim)
	})
}

// A worker dies with SIGKILL while it holds messages; a new replica
// starts. What the dead one held is redelivered after AckWait.
func TestWorkerKilledMidBatch(t *testing.T) {
	ctx := scenarioContext(t)
	s := newStack(ctx, t, false, 2, nil)

	c := s.underLoad(ctx, t, 2000, 250, 600, func(*publisher) {
		kill(ctx, t, s.workers[0])
		s.addWorker(ctx, t, 2)
	})
	require.Positive(t, c.Redelivered, "the killed worker held messages that were redelivered")
}

// A worker is cut off from NATS for longer than AckWait and then
// reconnected: the other replica takes over its messages, and whatever the
// cut-off one publishes late is deduplicated.
func TestWorkerPartitionedLongerThanAckWait(t *testing.T) {
	ctx := scenarioContext(t)
	s := newStack(ctx, t, false, 2, nil)

	cons, err := s.js.Consumer(ctx, inputStream, inputConsumer)
	require.NoError(t, err)
	s.underLoad(ctx, t, 2000, 200, 400, func(*publisher) {
		w := s.workers[0]
		disconnect(ctx, t, s.nw, w)
		// Redeliveries prove that AckWait ran out on what the worker held.
		require.True(t, pollUntil(ctx, 60*time.Second, func(ctx context.Context) bool {
			ci, err := cons.Info(ctx)
			return err == nil && ci.NumRedelivered > 0
		}), "nothing redelivered while a worker was cut off")
		reconnect(ctx, t, s.nw, w, workerName(0))
	})
}

// Each replica in turn gets SIGTERM under load, must exit 0 within the
// grace period, and is started again before the next one stops.
func TestRollingRestartUnderLoad(t *testing.T) {
	ctx := scenarioContext(t)
	s := newStack(ctx, t, false, 3, nil)

	s.underLoad(ctx, t, 3000, 300, 300, func(*publisher) {
		for i, w := range s.workers {
			stop(ctx, t, w, 30*time.Second)
			require.Zero(t, exitCode(ctx, t, w), "%s exit code after SIGTERM", workerName(i))
			require.NoError(t, w.Start(ctx), workerName(i))
		}
	})
}
