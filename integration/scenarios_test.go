//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"

	"github.com/imgpredict/worker/schemas"
)

// stack is one scenario's world: a private network, NATS, the fake
// Clarifai server and worker replicas.
type stack struct {
	nw      *testcontainers.DockerNetwork
	nodes   []*natsNode
	js      jetstream.JetStream
	env     map[string]string
	fake    *testcontainers.DockerContainer
	workers []*testcontainers.DockerContainer
}

// newStack starts everything and waits until every worker is ready, so
// that the streams and the durable consumer exist before events flow.
func newStack(ctx context.Context, t *testing.T, cluster bool, workers int, extra map[string]string) *stack {
	t.Helper()
	return newStackWith(ctx, t, stackConfig{cluster: cluster, workers: workers, env: extra})
}

// stackConfig says what a scenario's world is made of.
type stackConfig struct {
	cluster bool
	workers int
	env     map[string]string // the workers' environment, over workerEnv's
	fakeEnv map[string]string // the fake Clarifai server's
	// before runs once NATS is up and before the workers start.
	before func(js jetstream.JetStream)
}

func newStackWith(ctx context.Context, t *testing.T, cfg stackConfig) *stack {
	t.Helper()
	requireDocker(t)
	cluster, workers, extra := cfg.cluster, cfg.workers, cfg.env
	nw, err := network.New(ctx)
	testcontainers.CleanupNetwork(t, nw)
	require.NoError(t, err)
	s := &stack{nw: nw}
	if cluster {
		s.nodes = startCluster(ctx, t, nw)
	} else {
		s.nodes = []*natsNode{startNATS(ctx, t, nw)}
	}
	s.fake = startFake(ctx, t, nw, cfg.fakeEnv)
	s.env = workerEnv(joinURLs(s.nodes, (*natsNode).netURL), extra)
	s.js = connect(t, joinURLs(s.nodes, (*natsNode).hostURL))
	if cfg.before != nil {
		cfg.before(s.js)
	}
	for i := range workers {
		s.addWorker(ctx, t, i)
	}
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

// The results stream is deleted under load and created again 30 s later;
// streams are not the workers' to create here. Predicted events are held
// and their results published again until the stream is back: nothing is
// lost, dead-lettered, duplicated or predicted twice.
func TestResultsStreamUnavailable(t *testing.T) {
	ctx := scenarioContext(t)
	results := jetstream.StreamConfig{Name: resultsStream, Subjects: []string{"predictions.>"}, Storage: jetstream.FileStorage, Duplicates: 10 * time.Minute}
	s := newStackWith(ctx, t, stackConfig{workers: 2, env: map[string]string{"WORKER_CREATE_STREAMS": "false"},
		before: func(js jetstream.JetStream) {
			for _, cfg := range []jetstream.StreamConfig{
				{Name: inputStream, Subjects: []string{"images.>"}, Storage: jetstream.FileStorage},
				results,
				{Name: deadLetterStream, Subjects: []string{"deadletters.>"}, Storage: jetstream.FileStorage},
			} {
				_, err := js.CreateStream(ctx, cfg)
				require.NoError(t, err, cfg.Name)
			}
			for _, bucket := range []string{"masks", "deadletters"} {
				_, err := js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: bucket})
				require.NoError(t, err, bucket)
			}
		}})

	ids := eventIDs(2000)
	started := time.Now()
	p := publish(ctx, s.js, ids, nil, 200)
	p.waitPublished(t, 400)
	// What the deleted stream held counts too: read it first.
	before, _ := readOutputs(ctx, t, s.js, resultsStream)
	require.NoError(t, s.js.DeleteStream(ctx, resultsStream))
	time.Sleep(30 * time.Second) // the outage
	_, err := s.js.CreateStream(ctx, results)
	require.NoError(t, err)
	p.wait(t)

	require.True(t, pollUntil(ctx, 3*time.Minute, func(ctx context.Context) bool {
		c, err := s.js.Consumer(ctx, inputStream, inputConsumer)
		if err != nil {
			return false
		}
		ci, err := c.Info(ctx)
		return err == nil && ci.NumPending == 0 && ci.NumAckPending == 0
	}), "events not settled")
	c, after, _ := account(ctx, t, s.js, ids, started)
	c.Lost, c.Duplicates = 0, 0
	for _, id := range ids {
		switch n := before[id] + after[id]; {
		case n == 0:
			c.Lost++
		case n > 1:
			c.Duplicates += n - 1
		}
	}
	for _, n := range before {
		c.Results += n
	}
	c.PubRetries = int(p.retries.Load())
	requireExactlyOnce(t, c)
	require.Zero(t, c.DeadLetters, "an outage of the results stream is no reason to give up an event")
	inputs := fakeInputs(ctx, t, s.fake)
	t.Logf("%s: %d inputs predicted for %d events", t.Name(), inputs, len(ids))
	require.LessOrEqual(t, inputs, len(ids), "events were predicted again because their results could not be stored")
}

// A segmentation model answers 24 masks of 48 KiB per image: each result
// would be about 1.5 MB with every mask inline, over NATS' default
// max_payload of 1 MB. Every event still gets one result: the largest
// masks go to the Object Store until it fits.
func TestSegmentationMasksUnderLoad(t *testing.T) {
	ctx := scenarioContext(t)
	s := newStackWith(ctx, t, stackConfig{workers: 2,
		env:     map[string]string{"WORKER_BATCH_SIZE": "16"},
		fakeEnv: map[string]string{"FAKE_CLARIFAI_MASKS": "general-image-recognition:24x49152"},
	})
	ids := eventIDs(500)
	started := time.Now()
	p := publish(ctx, s.js, ids, nil, 50)
	c, _ := s.finish(ctx, t, p, ids, started)
	require.Zero(t, c.DeadLetters)

	str, err := s.js.Stream(ctx, resultsStream)
	require.NoError(t, err)
	msg, err := str.GetMsg(ctx, 1)
	require.NoError(t, err)
	require.LessOrEqual(t, len(msg.Data)+len(msg.Header), 1<<20, "a result over max_payload")
	var r schemas.Result
	require.NoError(t, json.Unmarshal(msg.Data, &r))
	require.Len(t, r.Regions, 24)
	offloaded := 0
	for _, rg := range r.Regions {
		if rg.Mask.Object != nil {
			offloaded++
		}
	}
	t.Logf("%s: %d of 24 masks in the Object Store, result %d bytes", t.Name(), offloaded, len(msg.Data))
	require.Positive(t, offloaded)
	require.Less(t, offloaded, 24, "masks that fit stay inline")
}

// Clarifai answers every call with 11007 (the key lacks a scope) for 10 s
// while three replicas hold a backlog: none dead-letters anything, every
// replica pauses (and says so on /readyz), the durable consumer is paused
// on the server, few calls go out, and all resume when calls pass again.
func TestAccountOutageThreeWorkers(t *testing.T) {
	ctx := scenarioContext(t)
	s := newStack(ctx, t, false, 3, map[string]string{
		"CLARIFAI_RATE_LIMIT": "15", "WORKER_PAUSE_PROBE_MIN": "2s", "WORKER_PAUSE_PROBE_MAX": "4s",
	})
	fakeAdmin(ctx, t, s.fake, http.MethodPost, "/outage?code=11007")
	ids := eventIDs(2000)
	started := time.Now()
	p := publish(ctx, s.js, ids, nil, 0)
	var why string
	require.True(t, pollUntil(ctx, time.Minute, func(ctx context.Context) bool {
		for i, w := range s.workers {
			code, body := readyz(ctx, w)
			if code != http.StatusServiceUnavailable || !strings.Contains(body, "auth_failed") {
				why = fmt.Sprintf("%s: %d %s", workerName(i), code, body)
				return false
			}
		}
		c, err := s.js.Consumer(ctx, inputStream, inputConsumer)
		return err == nil && c.CachedInfo().Paused
	}), "not every replica paused: %s", why)
	before := fakeCalls(ctx, t, s.fake)
	time.Sleep(10 * time.Second) // the outage goes on
	during := fakeCalls(ctx, t, s.fake)
	fakeAdmin(ctx, t, s.fake, http.MethodPost, "/outage?code=0")
	recovered := time.Now()

	c, _ := s.finish(ctx, t, p, ids, started)
	resumed := time.Since(recovered)
	t.Logf("%s: %d calls until every replica paused, %d in the 10 s after; every event done %s after the outage ended",
		t.Name(), before, during-before, resumed.Round(100*time.Millisecond))
	require.Zero(t, c.DeadLetters, "an account outage is no event's fault")
	require.LessOrEqual(t, during, 30, "calls kept going out while the account could not make any")
	require.Less(t, resumed, time.Minute)
	for i, w := range s.workers {
		code, body := readyz(ctx, w)
		require.Equal(t, http.StatusOK, code, "%s: %s", workerName(i), body)
	}
}

// Three replicas each configured with the account's 15 calls/s share it
// through the fleet quota, against a fake that throttles every call beyond
// 15 in a second (150 ms calls, 128 images each): the fleet stays near the
// 1,920 images/s ceiling with few calls throttled, and the two others take
// the share of one killed mid-run.
func TestFleetQuotaThreeReplicas(t *testing.T) {
	ctx := scenarioContext(t)
	ids := eventIDs(40000) // enough for every window at 1,920 images/s
	s := newStackWith(ctx, t, stackConfig{workers: 3,
		env:     map[string]string{"CLARIFAI_RATE_LIMIT": "15"},
		fakeEnv: map[string]string{"FAKE_CLARIFAI_QUOTA": "15", "FAKE_CLARIFAI_LATENCY": "150ms"},
		before: func(js jetstream.JetStream) { // a backlog before any replica starts
			_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: inputStream, Subjects: []string{"images.>"}, Storage: jetstream.FileStorage})
			require.NoError(t, err)
			storeBacklog(ctx, t, js, ids)
		}})
	started := time.Now()

	rate := func(window time.Duration) float64 {
		n0 := streamMsgs(ctx, s.js, resultsStream)
		time.Sleep(window) // a measuring window
		return float64(streamMsgs(ctx, s.js, resultsStream)-n0) / window.Seconds()
	}
	require.True(t, pollUntil(ctx, time.Minute, func(ctx context.Context) bool {
		return streamMsgs(ctx, s.js, resultsStream) > 2000
	}), "no results")
	// Replicas that start on two busy cores can delay a call enough for
	// one throttling answer, and the fleet then pauses for 5 s; the steady
	// rate is the best 4 s window before the kill.
	var steady float64
	for began := time.Now(); time.Since(began) < 16*time.Second; {
		if steady = max(steady, rate(4*time.Second)); steady >= 0.9*1920 {
			break
		}
	}
	kill(ctx, t, s.workers[0])
	killed := time.Now()
	var after float64
	for time.Since(killed) < 20*time.Second {
		if after = rate(2 * time.Second); after >= 0.9*1920 {
			break
		}
	}
	regained := time.Since(killed)
	waitSettled(ctx, t, s.js, len(ids), 3*time.Minute)
	c, _, _ := account(ctx, t, s.js, ids, started)
	requireExactlyOnce(t, c)
	stats := fakeCounts(ctx, t, s.fake)
	t.Logf("%s: steady %.0f images/s (%.2f of 1920); %.0f images/s (%.2f) within %s of a kill; %d of %d calls throttled (%.1f%%)",
		t.Name(), steady, steady/1920, after, after/1920, regained.Round(100*time.Millisecond), stats.Throttled, stats.Calls,
		100*float64(stats.Throttled)/float64(stats.Calls))
	require.Zero(t, c.DeadLetters)
	require.GreaterOrEqual(t, steady, 0.85*1920, "the fleet left its quota unused")
	require.LessOrEqual(t, float64(stats.Throttled), 0.05*float64(stats.Calls), "the fleet went over its quota")
	require.GreaterOrEqual(t, after, 0.85*1920, "the two others did not take the killed one's share")
}
