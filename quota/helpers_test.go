package quota

import (
	"bytes"
	"context"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/internal/natstest"
)

// testRate is the account's quota in the tests.
const testRate = 20

// groupRate is the calls per second the group aims at.
const groupRate = testRate * (1 - DefaultHeadroom)

// testGap is the time between two slots of the group: about 53 ms.
var testGap = time.Duration(math.Round(float64(time.Second) / groupRate))

// testConfig is a group whose members notice each other within a few
// hundred milliseconds.
func testConfig() FleetConfig {
	return FleetConfig{
		Group:     "g",
		RateLimit: testRate,
		Heartbeat: 100 * time.Millisecond,
		MemberTTL: 500 * time.Millisecond,
		OpTimeout: 500 * time.Millisecond,
	}
}

// member is one replica: its own NATS connection, Fleet and Run.
type member struct {
	*Fleet
	nc   *nats.Conn
	reg  *prometheus.Registry
	logs *syncBuffer
	stop context.CancelFunc
	done chan struct{}
}

func join(t *testing.T, srv *natstest.Server, cfg FleetConfig, opts ...func(*Fleet)) *member {
	t.Helper()
	nc, err := nats.Connect(srv.ClientURL(), nats.ReconnectWait(50*time.Millisecond), nats.MaxReconnects(-1))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	m := &member{nc: nc, reg: prometheus.NewRegistry(), logs: &syncBuffer{}, done: make(chan struct{})}
	m.Fleet, err = NewFleet(js, cfg, zerolog.New(m.logs), m.reg)
	require.NoError(t, err)
	for _, o := range opts {
		o(m.Fleet)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.stop = cancel
	go func() {
		defer close(m.done)
		_ = m.Run(ctx)
	}()
	t.Cleanup(m.leave)
	return m
}

// leave stops Run the clean way; the member record is removed.
func (m *member) leave() {
	m.stop()
	<-m.done
}

// kill stops the member as a crash would: no goodbye reaches the bucket.
func (m *member) kill() {
	m.nc.Close()
	m.leave()
}

// gauge is the value of a gauge or counter of the member, -1 when it has none.
func (m *member) gauge(name string) float64 {
	for _, mf := range must(m.reg.Gather()) {
		if mf.GetName() == name {
			metric := mf.GetMetric()[0]
			if c := metric.GetCounter(); c != nil {
				return c.GetValue()
			}
			return metric.GetGauge().GetValue()
		}
	}
	return -1
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// busy takes calls back to back until stopped, like a worker under
// backlog, recording the slot of each.
type busy struct {
	m     *member
	mu    sync.Mutex
	slots []time.Time
	stop  context.CancelFunc
	done  chan struct{}
}

func keepBusy(m *member) *busy {
	ctx, cancel := context.WithCancel(context.Background())
	b := &busy{m: m, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(b.done)
		for {
			slot, err := m.take(ctx)
			if err != nil {
				return
			}
			b.mu.Lock()
			b.slots = append(b.slots, time.Unix(0, slot))
			b.mu.Unlock()
		}
	}()
	return b
}

func (b *busy) halt() {
	b.stop()
	<-b.done
}

// taken returns the slots taken so far.
func (b *busy) taken() []time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.slots)
}

// spacing is the median time between the last n+1 slots, in group slots
// (1 = this member takes every slot of the group); 0 while fewer were taken.
func (b *busy) spacing(n int) float64 {
	s := b.taken()
	if len(s) < n+1 {
		return 0
	}
	s = s[len(s)-n-1:]
	d := make([]time.Duration, n)
	for i := range d {
		d[i] = s[i+1].Sub(s[i])
	}
	slices.Sort(d)
	return float64(d[n/2]) / float64(testGap)
}

// near says whether a spacing or rate is want, give or take a tenth.
func near(x, want float64) bool { return math.Abs(x-want) < 0.1 }

// syncBuffer collects log lines from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Count(b.b.Bytes(), []byte(s))
}

// freezer stands for a stopped process: while frozen, the member's
// heartbeats and the call it is about to start hang.
type freezer struct {
	mu   sync.Mutex
	thaw chan struct{} // nil unless frozen
}

// attach makes f obey the freezer; it is an option of join.
func (z *freezer) attach(f *Fleet) {
	f.stall = func() {
		z.mu.Lock()
		c := z.thaw
		z.mu.Unlock()
		if c != nil {
			<-c
		}
	}
}

func (z *freezer) freeze() {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.thaw = make(chan struct{})
}

func (z *freezer) resume() {
	z.mu.Lock()
	defer z.mu.Unlock()
	close(z.thaw)
	z.thaw = nil
}
