package memo

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/internal/natstest"
)

// outageConfig makes a lookup that waits for its timeout stand out: the
// test's poll deadline ends first.
func outageConfig() Config {
	cfg := testConfig()
	cfg.LookupTimeout = time.Minute
	return cfg
}

// unavailable checks what a worker sees while b cannot be used: lookups
// miss at once, writes are not sent, the gauge says 0.
func unavailable(t *testing.T, m *Memo, b *bucket, keys []string) {
	t.Helper()
	require.Eventually(t, func() bool { return available(b) == 0 }, wait, 20*time.Millisecond)
	answersAtOnce(t, func() {
		assert.Equal(t, make([]bool, len(keys)), m.Done(t.Context(), keys))
		assert.Equal(t, make([][]byte, len(keys)), m.Cached(t.Context(), keys))
	})
	assert.False(t, m.MarkDone(keys[0], []byte("x")))
	assert.Nil(t, m.Remember(keys[0], []byte("x")))
}

func TestServerStoppedThenRestarted(t *testing.T) {
	srv := natstest.Start(t)
	var logs logLines
	m := startMemoLogged(t, srv.ClientURL(), outageConfig(), &logs)
	keys := doneKeys(3, "event")
	marked(t, m, keys[0])
	stored(t, m.Remember(keys[0], []byte("v")))

	srv.Stop()
	unavailable(t, m, m.done, keys)
	unavailable(t, m, m.done, keys)
	require.Eventually(t, func() bool { return available(m.cache) == 0 }, wait, 20*time.Millisecond)

	srv.Restart()
	require.Eventually(t, func() bool { return available(m.done) == 1 && available(m.cache) == 1 }, wait, 20*time.Millisecond)
	assert.Equal(t, []bool{true, false, false}, m.Done(t.Context(), keys), "records are on disk")
	assert.Equal(t, "v", string(m.Cached(t.Context(), keys)[0]))

	done := `"bucket":"` + m.done.name + `"`
	assert.Equal(t, 1, logs.count(done, "memo bucket unavailable"), "one line per change of state")
	assert.Equal(t, 2, logs.count(done, "memo bucket available"), "at start and when back")
}

func TestBucketDeletedThenRecreated(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	cfg := outageConfig()
	cfg.Create = false
	cfg.CacheTTL = 0
	_, err := js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: cfg.DoneBucket})
	require.NoError(t, err)
	m := startMemo(t, srv.ClientURL(), cfg)
	keys := doneKeys(2, "event")
	marked(t, m, keys[0])

	require.NoError(t, js.DeleteKeyValue(t.Context(), cfg.DoneBucket))
	answersAtOnce(t, func() { assert.Equal(t, []bool{false, false}, m.Done(t.Context(), keys)) })
	unavailable(t, m, m.done, keys)

	_, err = js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: cfg.DoneBucket})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return available(m.done) == 1 }, wait, 20*time.Millisecond)
	marked(t, m, keys[1])
	assert.Equal(t, []bool{false, true}, m.Done(t.Context(), keys))
}

func TestDeletedBucketIsRecreatedWhenCreateIsOn(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	cfg := outageConfig()
	m := startMemo(t, srv.ClientURL(), cfg)
	require.NoError(t, js.DeleteKeyValue(t.Context(), cfg.DoneBucket))

	key := doneKeys(1, "event")
	require.Eventually(t, func() bool {
		return m.MarkDone(key[0], []byte("x")) && m.Done(t.Context(), key)[0]
	}, wait, 20*time.Millisecond)
	kv, err := js.KeyValue(t.Context(), cfg.DoneBucket)
	require.NoError(t, err)
	st, err := kv.Status(t.Context())
	require.NoError(t, err)
	assert.Equal(t, cfg.IdempotencyTTL, st.TTL())
}

func TestUserWithoutPermissionThenGranted(t *testing.T) {
	restricted := func(o *server.Options) {
		o.Users = []*server.User{{Username: "worker", Password: "pw", Permissions: &server.Permissions{
			Publish:   &server.SubjectPermission{Allow: []string{"images.>"}},
			Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>"}},
		}}}
	}
	granted := func(o *server.Options) { o.Users[0].Permissions = nil }
	srv := natstest.Start(t, restricted)
	url := "nats://worker:pw@" + srv.Addr().String()
	cfg := outageConfig()
	cfg.OpenTimeout = 500 * time.Millisecond // each denied request waits for it
	m := startMemo(t, url, cfg)
	unavailable(t, m, m.done, doneKeys(2, "event"))

	srv.Restart(granted)
	require.Eventually(t, func() bool { return available(m.done) == 1 && available(m.cache) == 1 }, wait, 20*time.Millisecond)
	key := doneKeys(1, "event")
	marked(t, m, key[0])
	assert.Equal(t, []bool{true}, m.Done(t.Context(), key))
}

// TestWorksWithTheDocumentedPermissions holds the package doc's list of
// subjects to what the code uses: a user allowed only those creates,
// writes and reads both buckets.
func TestWorksWithTheDocumentedPermissions(t *testing.T) {
	cfg := testConfig()
	publish := []string{"$JS.API.INFO"} // creating a bucket reads the account's limits
	for _, b := range []string{cfg.DoneBucket, cfg.CacheBucket} {
		publish = append(publish,
			"$JS.API.STREAM.INFO.KV_"+b, "$JS.API.STREAM.CREATE.KV_"+b,
			"$JS.API.DIRECT.GET.KV_"+b, "$KV."+b+".>")
	}
	srv := natstest.Start(t, func(o *server.Options) {
		o.Users = []*server.User{{Username: "worker", Password: "pw", Permissions: &server.Permissions{
			Publish:   &server.SubjectPermission{Allow: publish},
			Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>"}},
		}}}
	})
	m := startMemo(t, "nats://worker:pw@"+srv.Addr().String(), cfg)
	require.Equal(t, 1.0, available(m.done))
	require.Equal(t, 1.0, available(m.cache))

	key := doneKeys(1, "event")
	marked(t, m, key[0])
	stored(t, m.Remember(key[0], []byte("v")))
	assert.Equal(t, []bool{true}, m.Done(t.Context(), key))
	assert.Equal(t, "v", string(m.Cached(t.Context(), key)[0]))
}
