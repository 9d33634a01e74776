package memo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// writeTimeout bounds the wait for a write's PubAck; past it the future
// fails and the bucket counts as unavailable.
const writeTimeout = 5 * time.Second

var errDisconnected = errors.New("not connected to NATS")

// Memo keeps the idempotency records and the result cache. Its methods
// are safe for concurrent use; Run must be running for the buckets to be
// used.
type Memo struct {
	nc  *nats.Conn
	js  jetstream.JetStream
	cfg Config
	log zerolog.Logger
	// writeLog is log sampled: a failing write is one of thousands.
	writeLog zerolog.Logger
	met      *metrics
	done     *bucket // nil when off
	cache    *bucket // nil when off
	buckets  []*bucket

	checked   chan struct{}
	closeOnce sync.Once
}

// bucket is one KV bucket and whether it can be used now.
type bucket struct {
	name      string
	ttl       time.Duration
	stream    string // the bucket's stream, KV_<name>
	getSubj   string // where batched direct gets go
	keyPrefix string // a key's subject is keyPrefix + key
	gauge     prometheus.Gauge

	// open is nil while the bucket is unavailable: lookups miss and
	// writes are skipped without waiting.
	open atomic.Pointer[handle]

	mu       sync.Mutex // guards reported, so one line is logged per state change
	reported string     // "", "up" or "down"
}

// handle is an open bucket as Run last saw it.
type handle struct {
	stream jetstream.Stream // for key-by-key gets when direct gets are off
	direct bool
	ttl    time.Duration
}

// New checks cfg and prepares the buckets; it does no I/O: Run opens
// them. Metrics are registered on reg unless it is nil.
func New(nc *nats.Conn, cfg Config, log zerolog.Logger, reg prometheus.Registerer) (*Memo, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Memo{
		nc:       nc,
		cfg:      cfg,
		log:      log,
		writeLog: log.Sample(&zerolog.BurstSampler{Burst: 1, Period: 10 * time.Second}),
		met:      newMetrics(reg),
		checked:  make(chan struct{}),
	}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncTimeout(writeTimeout),
		jetstream.WithPublishAsyncErrHandler(m.writeFailed))
	if err != nil {
		return nil, fmt.Errorf("memo: jetstream: %w", err)
	}
	m.js = js
	if cfg.IdempotencyTTL > 0 {
		m.done = m.newBucket(cfg.DoneBucket, cfg.IdempotencyTTL)
	}
	if cfg.CacheTTL > 0 {
		m.cache = m.newBucket(cfg.CacheBucket, cfg.CacheTTL)
	}
	return m, nil
}

func (m *Memo) newBucket(name string, ttl time.Duration) *bucket {
	b := &bucket{
		name:      name,
		ttl:       ttl,
		stream:    "KV_" + name,
		getSubj:   "$JS.API.DIRECT.GET.KV_" + name,
		keyPrefix: "$KV." + name + ".",
		gauge:     m.met.available.WithLabelValues(name),
	}
	m.buckets = append(m.buckets, b)
	return b
}

// Run opens the buckets, creating missing ones when Create is on, then
// looks at them every RetryInterval: it reopens one that became
// unavailable and notices one that went away. It returns nil when ctx
// ends.
func (m *Memo) Run(ctx context.Context) error {
	tick := time.NewTicker(m.cfg.RetryInterval)
	defer tick.Stop()
	for {
		for _, b := range m.buckets {
			m.check(ctx, b)
		}
		m.closeOnce.Do(func() { close(m.checked) })
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Checked is closed once Run has tried every bucket: a worker that waits
// for it before consuming does not miss records only because the
// buckets were not open yet.
func (m *Memo) Checked() <-chan struct{} { return m.checked }

func (m *Memo) check(ctx context.Context, b *bucket) {
	if !m.nc.IsConnected() {
		m.down(b, errDisconnected)
		return
	}
	octx, cancel := context.WithTimeout(ctx, m.cfg.OpenTimeout)
	defer cancel()
	h, err := m.open(octx, b)
	switch {
	case ctx.Err() != nil:
	case err != nil:
		m.down(b, err)
	default:
		m.up(b, h)
	}
}

// open finds the bucket's stream, creating the bucket when it is missing
// and Create is on.
func (m *Memo) open(ctx context.Context, b *bucket) (*handle, error) {
	s, err := m.js.Stream(ctx, b.stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		if !m.cfg.Create {
			return nil, fmt.Errorf("bucket %s does not exist and WORKER_CREATE_STREAMS is false", b.name)
		}
		_, err = m.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:   b.name,
			History:  1,
			TTL:      b.ttl,
			Storage:  jetstream.FileStorage,
			Replicas: m.cfg.Replicas,
		})
		switch {
		case err == nil:
			m.log.Info().Str("bucket", b.name).Stringer("ttl", b.ttl).Int("replicas", m.cfg.Replicas).Msg("memo bucket created")
		case !errors.Is(err, jetstream.ErrBucketExists): // else another replica was faster
			return nil, fmt.Errorf("create bucket %s: %w", b.name, err)
		}
		s, err = m.js.Stream(ctx, b.stream)
	}
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", b.name, err)
	}
	c := s.CachedInfo().Config
	if !slices.Contains(c.Subjects, b.keyPrefix+">") {
		return nil, fmt.Errorf("stream %s (subjects %v) is not the KV bucket %s", b.stream, c.Subjects, b.name)
	}
	h := &handle{stream: s, direct: c.AllowDirect, ttl: c.MaxAge}
	// Reading a key that is never written proves the path lookups take
	// (a user may see the stream yet not be allowed its direct gets).
	if err := m.getter(h)(ctx, b, []string{probeKey}, func(string, []byte) {}); err != nil {
		return nil, fmt.Errorf("bucket %s: %w", b.name, err)
	}
	return h, nil
}

// probeKey is a valid key that no input hashes to in practice.
const probeKey = "00000000000000000000000000000000"

// usable returns the open bucket, or nil at once when it is off,
// unavailable, or the connection is down.
func (m *Memo) usable(b *bucket) *handle {
	if b == nil {
		return nil
	}
	h := b.open.Load()
	if h == nil {
		return nil
	}
	if !m.nc.IsConnected() {
		m.down(b, errDisconnected)
		return nil
	}
	return h
}

// down marks b unavailable until Run reopens it.
func (m *Memo) down(b *bucket, err error) {
	b.open.Store(nil)
	if b.report(false) {
		m.log.Warn().Err(err).Str("bucket", b.name).Msg("memo bucket unavailable: lookups miss and records are not written until it is back")
	}
}

// up makes h the open bucket b.
func (m *Memo) up(b *bucket, h *handle) {
	b.open.Store(h)
	if !b.report(true) {
		return
	}
	m.log.Info().Str("bucket", b.name).Stringer("ttl", h.ttl).Bool("direct_gets", h.direct).Msg("memo bucket available")
	if h.ttl != b.ttl {
		m.log.Warn().Str("bucket", b.name).Stringer("ttl", h.ttl).Stringer("configured_ttl", b.ttl).
			Msg("memo bucket keeps records for its own TTL; an existing bucket is used as it is")
	}
	if !h.direct {
		m.log.Warn().Str("bucket", b.name).Msg("memo bucket does not allow direct gets: keys are looked up one by one")
	}
}

// report sets the gauge and says whether the state changed, so that
// one line is logged per change.
func (b *bucket) report(up bool) bool {
	state, v := "down", 0.0
	if up {
		state, v = "up", 1
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.reported == state {
		return false
	}
	b.reported = state
	b.gauge.Set(v)
	return true
}
