package memo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/internal/natstest"
	"github.com/imgpredict/worker/schemas"
)

// wait is the deadline of every poll.
const wait = 15 * time.Second

var testModel = schemas.Model{UserID: "clarifai", AppID: "main", ID: "general-image-recognition"}

// testConfig checks buckets often, so that recovery shows within a poll.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.RetryInterval = 100 * time.Millisecond
	cfg.OpenTimeout = 2 * time.Second
	return cfg
}

// startMemo runs a Memo on its own connection to url until the test ends,
// and returns once Run has tried every bucket.
func startMemo(t testing.TB, url string, cfg Config) *Memo {
	t.Helper()
	return startMemoLogged(t, url, cfg, io.Discard)
}

// startMemoLogged is startMemo logging to w.
func startMemoLogged(t testing.TB, url string, cfg Config, w io.Writer) *Memo {
	t.Helper()
	nc, _ := natstest.Connect(t, url)
	nc.SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		if !errors.Is(err, nats.ErrPermissionViolation) { // some tests deny on purpose
			log.Printf("nats: %v", err)
		}
	})
	m, err := New(nc, cfg, zerolog.New(w), prometheus.NewRegistry())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := m.Run(ctx); err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-stopped
	})
	select {
	case <-m.Checked():
	case <-time.After(wait):
		t.Fatal("Run did not check the buckets")
	}
	return m
}

func doneKeys(n int, prefix string) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = doneKey(fmt.Sprintf("%s-%d", prefix, i), testModel)
	}
	return keys
}

// stored waits until every write is stored.
// marked writes the idempotency record of each key and waits until a
// lookup finds them all.
func marked(t testing.TB, m *Memo, keys ...string) {
	t.Helper()
	for _, k := range keys {
		require.True(t, m.MarkDone(k, doneValue), "record not sent")
	}
	require.Eventually(t, func() bool { return !slices.Contains(m.Done(context.Background(), keys), false) }, wait, 5*time.Millisecond)
}

func stored(t testing.TB, futures ...jetstream.PubAckFuture) {
	t.Helper()
	for _, f := range futures {
		require.NotNil(t, f, "write not sent")
		select {
		case <-f.Ok():
		case err := <-f.Err():
			t.Fatalf("write failed: %v", err)
		case <-time.After(wait):
			t.Fatal("write not acknowledged")
		}
	}
}

func available(b *bucket) float64 { return value(b.gauge) }

// value reads a counter or a gauge, gathered as a scrape would.
func value(c prometheus.Collector) float64 {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	families, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	m := families[0].GetMetric()[0]
	if m.Counter != nil {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

// countRequests counts, on its own connection, the requests sent to
// subject. Run's checks send some too: tests that count set a long
// RetryInterval. The subscription is interest in subject: a test that
// needs "no responders" must not use it.
func countRequests(t testing.TB, url, subject string) func() int {
	t.Helper()
	nc, _ := natstest.Connect(t, url)
	sub, err := nc.SubscribeSync(subject)
	require.NoError(t, err)
	require.NoError(t, sub.SetPendingLimits(-1, -1))
	require.NoError(t, nc.Flush())
	return func() int {
		require.NoError(t, nc.Flush()) // what the server sent before is queued now
		n, _, err := sub.Pending()
		require.NoError(t, err)
		return n
	}
}

// answersAtOnce runs f and fails unless it returns well within the
// lookup timeout of a minute that tests using it set.
func answersAtOnce(t *testing.T, f func()) {
	t.Helper()
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		f()
	}()
	select {
	case <-returned:
	case <-time.After(wait):
		t.Fatal("lookup waited for its timeout")
	}
}

// logLines collects log lines from many goroutines.
type logLines struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// count is how many lines hold every one of parts.
func (l *logLines) count(parts ...string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for line := range strings.Lines(l.b.String()) {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			n++
		}
	}
	return n
}
