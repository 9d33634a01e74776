package memo

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/internal/natstest"
)

// quietConfig is testConfig with no checks by Run after the first.
func quietConfig() Config {
	cfg := testConfig()
	cfg.RetryInterval = time.Hour
	return cfg
}

func TestDoneFindsMarkedKeysInOneRequest(t *testing.T) {
	srv := natstest.Start(t)
	m := startMemo(t, srv.ClientURL(), quietConfig())
	require.Equal(t, 1.0, available(m.done))

	recorded := doneKeys(100, "marked")
	marked(t, m, recorded...)
	skips := value(m.met.skips)
	// 127 keys: marked and unmarked interleaved, one marked key twice.
	var keys []string
	var want []bool
	for i, k := range doneKeys(26, "new") {
		keys = append(keys, recorded[i*3], recorded[i*3+1], k)
		want = append(want, true, true, false)
	}
	keys = append(keys, recorded[0])
	want = append(want, true)
	requests := countRequests(t, srv.ClientURL(), m.done.getSubj)

	assert.Equal(t, want, m.Done(t.Context(), keys))
	assert.Equal(t, 1, requests(), "one direct get for up to 128 keys")
	assert.Equal(t, 53.0, value(m.met.skips)-skips, "one skip per marked key asked")

	// Longer lists take one request per 128 keys.
	long := append(doneKeys(200, "new"), recorded...)
	found := m.Done(t.Context(), long)
	assert.Equal(t, 3, requests()-1)
	for i, f := range found {
		assert.Equal(t, i >= 200, f, "key %d", i)
	}
}

func TestCachedReturnsRememberedValues(t *testing.T) {
	srv := natstest.Start(t)
	m := startMemo(t, srv.ClientURL(), quietConfig())
	keys := make([]string, 40)
	for i := range keys {
		k, ok := m.CacheKey(fmt.Appendf(nil, "image %d", i), "", testModel, nil)
		require.True(t, ok)
		keys[i] = k
		if i%2 == 0 {
			stored(t, m.Remember(k, fmt.Appendf(nil, "result %d", i)))
		}
	}
	stored(t, m.Remember(keys[1], nil)) // an empty value is still a hit
	requests := countRequests(t, srv.ClientURL(), m.cache.getSubj)

	values := m.Cached(t.Context(), keys)
	assert.Equal(t, 1, requests())
	for i, v := range values {
		switch {
		case i == 1:
			assert.Equal(t, []byte{}, v)
		case i%2 == 0:
			assert.Equal(t, fmt.Sprintf("result %d", i), string(v))
		default:
			assert.Nil(t, v, "key %d", i)
		}
	}
	assert.Equal(t, 21.0, value(m.met.hits))
	assert.Equal(t, 19.0, value(m.met.misses))
}

func TestDeletedPurgedAndExpiredKeysAreMissing(t *testing.T) {
	srv := natstest.Start(t)
	cfg := testConfig()
	cfg.IdempotencyTTL = time.Second
	m := startMemo(t, srv.ClientURL(), cfg)
	_, js := natstest.Connect(t, srv.ClientURL())
	kv, err := js.KeyValue(t.Context(), cfg.DoneBucket)
	require.NoError(t, err)

	keys := doneKeys(3, "event")
	for _, k := range keys {
		marked(t, m, k)
	}
	require.NoError(t, kv.Delete(t.Context(), keys[0]))
	require.NoError(t, kv.Purge(t.Context(), keys[1]))
	assert.Equal(t, []bool{false, false, true}, m.Done(t.Context(), keys))

	require.Eventually(t, func() bool { return !m.Done(t.Context(), keys[2:])[0] }, wait, 50*time.Millisecond,
		"a key outlives the bucket's TTL of 1s")
}

func TestOffAnswersNotFoundAndWritesNothing(t *testing.T) {
	srv := natstest.Start(t)
	cfg := testConfig()
	cfg.IdempotencyTTL, cfg.CacheTTL = 0, 0
	m := startMemo(t, srv.ClientURL(), cfg)

	keys := doneKeys(2, "event")
	assert.False(t, m.MarkDone(keys[0], []byte("x")))
	assert.Nil(t, m.Remember(keys[1], []byte("x")))
	assert.Equal(t, []bool{false, false}, m.Done(t.Context(), keys))
	assert.Equal(t, [][]byte{nil, nil}, m.Cached(t.Context(), keys))
	_, ok := m.CacheKey([]byte("image"), "", testModel, nil)
	assert.False(t, ok)

	_, js := natstest.Connect(t, srv.ClientURL())
	names := js.StreamNames(t.Context())
	for n := range names.Name() {
		t.Errorf("stream %s created while both are off", n)
	}
	require.NoError(t, names.Err())
}

func TestOperatorBucketIsUsedAsItIs(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	cfg := testConfig()
	_, err := js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: cfg.DoneBucket, History: 5, TTL: time.Hour})
	require.NoError(t, err)
	m := startMemo(t, srv.ClientURL(), cfg)
	require.Equal(t, 1.0, available(m.done))

	keys := doneKeys(2, "event")
	marked(t, m, keys[0])
	assert.Equal(t, []bool{true, false}, m.Done(t.Context(), keys))

	s, err := js.Stream(t.Context(), "KV_"+cfg.DoneBucket)
	require.NoError(t, err)
	assert.Equal(t, time.Hour, s.CachedInfo().Config.MaxAge)
	assert.Equal(t, int64(5), s.CachedInfo().Config.MaxMsgsPerSubject)
}

func TestBucketWithoutDirectGetsIsReadKeyByKey(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	cfg := quietConfig()
	cfg.CacheTTL = 0 // every direct get counted would be the done bucket's
	_, err := js.CreateStream(t.Context(), jetstream.StreamConfig{
		Name:              "KV_" + cfg.DoneBucket,
		Subjects:          []string{"$KV." + cfg.DoneBucket + ".>"},
		MaxMsgsPerSubject: 1,
		AllowRollup:       true,
		Discard:           jetstream.DiscardNew,
	})
	require.NoError(t, err)
	requests := countRequests(t, srv.ClientURL(), "$JS.API.DIRECT.GET.>")
	m := startMemo(t, srv.ClientURL(), cfg)
	require.Equal(t, 1.0, available(m.done))

	keys := doneKeys(3, "event")
	marked(t, m, keys[0], keys[1])
	kv, err := js.KeyValue(t.Context(), cfg.DoneBucket)
	require.NoError(t, err)
	require.NoError(t, kv.Delete(t.Context(), keys[1]))

	assert.Equal(t, []bool{true, false, false}, m.Done(t.Context(), keys))
	assert.Zero(t, requests())
}

func TestMissingBucketWithCreateOffIsUsedOnceMade(t *testing.T) {
	srv := natstest.Start(t)
	cfg := testConfig()
	cfg.Create = false
	m := startMemo(t, srv.ClientURL(), cfg)
	assert.Equal(t, 0.0, available(m.done))
	assert.False(t, m.MarkDone(doneKeys(1, "event")[0], []byte("x")))

	_, js := natstest.Connect(t, srv.ClientURL())
	_, err := js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: cfg.DoneBucket})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return available(m.done) == 1 }, wait, 20*time.Millisecond)
	marked(t, m, doneKeys(1, "event")[0])
	assert.Equal(t, []bool{true}, m.Done(t.Context(), doneKeys(1, "event")))
}

func TestLookupEndsWithTheCallersContext(t *testing.T) {
	srv := natstest.Start(t)
	m := startMemo(t, srv.ClientURL(), testConfig())
	keys := doneKeys(1, "event")
	marked(t, m, keys[0])
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	assert.Equal(t, []bool{false}, m.Done(ctx, keys))
	assert.Equal(t, 1.0, available(m.done), "a caller giving up says nothing about the bucket")
}

func TestReplicatedBucketIsReadThroughAnyServer(t *testing.T) {
	nodes := natstest.StartCluster(t, 3)
	cfg := testConfig()
	cfg.Replicas = 3
	writer := startMemo(t, nodes[0].ClientURL(), cfg)
	keys := doneKeys(200, "event")
	for _, k := range keys[:100] {
		marked(t, writer, k)
	}
	reader := startMemo(t, nodes[2].ClientURL(), cfg)
	want := make([]bool, len(keys))
	for i := range 100 {
		want[i] = true
	}
	// A follower may answer a moment behind its leader.
	require.Eventually(t, func() bool { return assert.ObjectsAreEqual(want, reader.Done(t.Context(), keys)) }, wait, 20*time.Millisecond)
	assert.Equal(t, 1.0, available(reader.done))
}
