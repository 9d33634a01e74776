package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/emit"
	"github.com/imgpredict/worker/internal/natstest"
	pb "github.com/imgpredict/worker/predictor/clarifai/clarifaipb"
	sc "github.com/imgpredict/worker/predictor/clarifai/clarifaipb/statuspb"
	"github.com/imgpredict/worker/predictor/clarifai/clarifaitest"
	"github.com/imgpredict/worker/schemas"
)

// The users of deploy/nats/image-worker-account.conf and the passwords
// this test gives them through the server's environment.
var natsUsers = map[string]string{
	"admin": "IMAGE_ADMIN_PASSWORD", "worker": "IMAGE_WORKER_PASSWORD", "worker-create": "IMAGE_WORKER_CREATE_PASSWORD",
	"emit": "IMAGE_EMIT_PASSWORD", "indexer": "IMAGE_INDEXER_PASSWORD", "viewer": "IMAGE_VIEWER_PASSWORD",
}

func password(user string) string { return user + "-secret" }

// inboxes are the users' inbox prefixes, as deploy/nats gives them.
var inboxes = map[string]string{
	"worker": "_INBOX_worker", "worker-create": "_INBOX_worker", "emit": "_INBOX_emit", "indexer": "_INBOX_indexer", "viewer": "_INBOX_viewer",
}

// violations are the permission violations a server logged, as
// "user: what".
type violations struct {
	mu    sync.Mutex
	lines []string
}

var violationLine = regexp.MustCompile(`"IMAGES/user:([^"]+)" - (\w+ Violation - .*)`)

func (v *violations) Errorf(format string, a ...any) {
	if m := violationLine.FindStringSubmatch(fmt.Sprintf(format, a...)); m != nil {
		v.mu.Lock()
		v.lines = append(v.lines, m[1]+": "+m[2])
		v.mu.Unlock()
	}
}
func (v *violations) Noticef(string, ...any) {}
func (v *violations) Warnf(string, ...any)   {}
func (v *violations) Fatalf(string, ...any)  {}
func (v *violations) Debugf(string, ...any)  {}
func (v *violations) Tracef(string, ...any)  {}

func (v *violations) take() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	l := v.lines
	v.lines = nil
	return l
}

// accountServer starts a server whose IMAGES account is
// deploy/nats/image-worker-account.conf as it is, beside an account
// ORDERS with a stream of its own, at the default max_payload of 1 MB.
func accountServer(t *testing.T) (*natstest.Server, *violations) {
	t.Helper()
	for user, env := range natsUsers {
		t.Setenv(env, password(user))
	}
	dir := t.TempDir()
	account, err := os.ReadFile(filepath.Join("..", "..", "deploy", "nats", "image-worker-account.conf"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "image-worker-account.conf"), account, 0o600))
	conf := filepath.Join(dir, "nats.conf")
	require.NoError(t, os.WriteFile(conf, []byte(`accounts {
  IMAGES: { include "image-worker-account.conf" }
  ORDERS: { jetstream: enabled, users: [ { user: orders, password: orders-secret } ] }
}
`), 0o600))
	srv := natstest.Start(t, func(o *server.Options) {
		require.NoError(t, o.ProcessConfigFile(conf))
		o.MaxPayload = 1 << 20
	})
	v := &violations{}
	srv.SetLoggerV2(v, false, false, false)

	_, orders := connectAs(t, srv.ClientURL(), "orders", "orders-secret")
	_, err = orders.CreateStream(t.Context(), jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}})
	require.NoError(t, err)
	return srv, v
}

// connectAs connects as one user, with its inbox prefix; errors the
// server sends (permission violations) are dropped: the server's log is
// what the test reads.
func connectAs(t *testing.T, url, user, pw string, opts ...nats.Option) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	if inbox, ok := inboxes[user]; ok {
		opts = append([]nats.Option{nats.CustomInboxPrefix(inbox)}, opts...)
	}
	opts = append(opts, nats.UserInfo(user, pw), nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
	nc, err := nats.Connect(url, opts...)
	require.NoError(t, err, user)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return nc, js
}

func user(t *testing.T, srv *natstest.Server, name string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	return connectAs(t, srv.ClientURL(), name, password(name))
}

// startWorkerAs runs the wired worker as a NATS user against a fake
// Clarifai server whose first answer says the account cannot call (so the
// worker pauses its consumer, probes and resumes it) and whose model
// "seg" answers with a 100 KiB mask (stored in the Object Store), and
// waits until it consumes. It returns the address of its /metrics, and
// stop, which ends it.
func startWorkerAs(t *testing.T, srv *natstest.Server, name string, createStreams bool) (httpAddr string, stop func()) {
	t.Helper()
	fake := clarifaitest.NewServer()
	t.Cleanup(fake.Close)
	noise := make([]byte, 100<<10)
	_, _ = rand.Read(noise)
	fake.SetPayload("seg", &pb.Data{Regions: []*pb.Region{{Id: "m1", Value: 0.5, RegionInfo: &pb.RegionInfo{Mask: &pb.Mask{Image: &pb.Image{Base64: noise}}}}}})
	fake.FailCalls(1, sc.StatusCode_CONN_KEY_NOT_FOUND)
	httpAddr = freeAddr(t)
	cfg, err := loadConfig("worker", []string{
		"--nats-url", srv.ClientURL(), "--nats-user", name, "--nats-password", password(name), "--nats-inbox-prefix", inboxes[name],
		"--clarifai-endpoint", fake.Addr(), "--clarifai-insecure", "--worker-http-addr", httpAddr, "--worker-batch-wait", "20ms",
		"--worker-pause-probe-min", "100ms", "--worker-pause-probe-max", "200ms",
		fmt.Sprintf("--worker-create-streams=%t", createStreams),
	}, env(map[string]string{"CLARIFAI_PAT": "p"}), io.Discard)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	started, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- runWorker(ctx, cfg, zerolog.Nop(), func(string) { close(started) }) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); require.NoError(t, <-done) }) }
	t.Cleanup(stop)
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("worker stopped: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("worker did not start")
	}
	return httpAddr, stop
}

// watched waits until the worker has read its consumer's state, which it
// polls every InfoInterval (5s).
func watched(t *testing.T, httpAddr string) {
	t.Helper()
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + httpAddr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return err == nil && strings.Contains(string(b), `worker_consumer_messages{state="pending"}`)
	}, 15*time.Second, 100*time.Millisecond)
}

// feed publishes, as admin, what makes the worker use every subject it
// needs: a URL event, an event answered with a mask (twice, so the mask is
// written again under its name), an invalid event and one so large that
// its dead letter keeps it in the Object Store. emit, as its own user,
// puts an image into the Object Store and publishes its event. It returns
// how many outputs to expect.
func feed(t *testing.T, srv *natstest.Server) int {
	t.Helper()
	_, admin := user(t, srv, "admin")
	large := bytes.Repeat([]byte("a"), 900<<10)
	events := []string{
		`{"id":"url","image":{"url":"https://example.com/1.jpg"}}`,
		`{"id":"seg","image":{"url":"https://example.com/2.jpg"},"model":{"id":"seg"}}`,
		`{"id":"seg","image":{"url":"https://example.com/2.jpg"},"model":{"id":"seg"}}`,
		`{"id":"bad","image":{}}`,
		`{"id":"large","image":{},"metadata":{"x":"` + string(large) + `"}}`,
	}
	for _, e := range events {
		_, err := admin.Publish(t.Context(), "images.upload", []byte(e))
		require.NoError(t, err)
	}
	_, emitter := user(t, srv, "emit")
	dir := t.TempDir()
	img := make([]byte, 3<<20) // over --inline-max and several flow-control windows
	_, _ = rand.Read(img)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "big.jpg"), img, 0o600))
	_, err := emit.Run(t.Context(), emitter, emit.Config{Subject: emit.DefaultSubject, Bucket: emit.DefaultBucket, InlineMax: emit.DefaultInlineMax}, []string{dir}, io.Discard)
	require.NoError(t, err)
	return len(events) // the second "seg" is the same result, stored once
}

// settled waits until the outputs are stored and the consumer has
// nothing left.
func settled(t *testing.T, srv *natstest.Server, v *violations, outputs int) {
	t.Helper()
	_, admin := user(t, srv, "admin")
	ok := assert.Eventually(t, func() bool {
		n := uint64(0)
		for _, s := range []string{"PREDICTIONS", "DEADLETTERS"} {
			st, err := admin.Stream(t.Context(), s)
			if err != nil {
				return false
			}
			n += st.CachedInfo().State.Msgs
		}
		c, err := admin.Consumer(t.Context(), "IMAGES", "image-predictor")
		if err != nil {
			return false
		}
		ci := c.CachedInfo()
		return n == uint64(outputs) && ci.NumPending == 0 && ci.NumAckPending == 0
	}, 30*time.Second, 50*time.Millisecond)
	if !ok {
		t.Fatalf("not settled; permission violations: %v", v.take())
	}
}

// index reads every result as an indexer does, through a durable consumer
// of its own, and reads the mask a result keeps in the Object Store.
func index(t *testing.T, srv *natstest.Server) {
	t.Helper()
	_, js := user(t, srv, "indexer")
	ctx := t.Context()
	cons, err := js.CreateOrUpdateConsumer(ctx, "PREDICTIONS", jetstream.ConsumerConfig{Durable: "search-index", AckPolicy: jetstream.AckExplicitPolicy})
	require.NoError(t, err)
	batch, err := cons.FetchNoWait(100)
	require.NoError(t, err)
	masks := 0
	for m := range batch.Messages() {
		var r schemas.Result
		require.NoError(t, json.Unmarshal(m.Data(), &r))
		for _, reg := range r.Regions {
			if reg.Mask != nil && reg.Mask.Object != nil {
				store, err := js.ObjectStore(ctx, reg.Mask.Object.Bucket)
				require.NoError(t, err)
				b, err := store.GetBytes(ctx, reg.Mask.Object.Name)
				require.NoError(t, err)
				require.Len(t, b, 100<<10)
				masks++
			}
		}
		require.NoError(t, m.Ack())
	}
	require.NoError(t, batch.Error())
	require.Equal(t, 1, masks)
}

// TestDeployNATSPermissions runs the worker, emit, an indexer, `worker
// status` and `worker tail` as the users of deploy/nats, each with only
// its permissions, through everything they do: the server reports no
// violation. Then each tries what it must not do, and is refused.
func TestDeployNATSPermissions(t *testing.T) {
	t.Run("worker with streams made by admin", func(t *testing.T) {
		srv, v := accountServer(t)
		_, admin := user(t, srv, "admin")
		ctx := t.Context()
		for _, s := range []jetstream.StreamConfig{
			{Name: "IMAGES", Subjects: []string{"images.>"}},
			{Name: "PREDICTIONS", Subjects: []string{"predictions.>"}, Duplicates: 10 * time.Minute},
			{Name: "DEADLETTERS", Subjects: []string{"deadletters.>"}},
		} {
			_, err := admin.CreateStream(ctx, s)
			require.NoError(t, err)
		}
		for _, b := range []string{"images", "masks", "deadletters"} {
			_, err := admin.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: b})
			require.NoError(t, err)
		}
		for _, kv := range []jetstream.KeyValueConfig{
			{Bucket: "image-worker-done", History: 1, TTL: 72 * time.Hour},
			{Bucket: "image-worker-cache", History: 1, TTL: 24 * time.Hour},
			{Bucket: "image-worker-quota", History: 1, TTL: time.Minute, Storage: jetstream.MemoryStorage},
		} {
			_, err := admin.CreateKeyValue(ctx, kv)
			require.NoError(t, err)
		}
		httpAddr, stop := startWorkerAs(t, srv, "worker", false)
		// As a worker that crashed after storing it would have left it: the
		// dead letter's original is written again under its name.
		store, err := admin.ObjectStore(ctx, "deadletters")
		require.NoError(t, err)
		_, err = store.PutString(ctx, "d-IMAGES-5", "left by a crash")
		require.NoError(t, err)
		settled(t, srv, v, feed(t, srv))
		watched(t, httpAddr)
		index(t, srv)
		for _, args := range [][]string{{"status"}, {"tail", "--all", "--count", "5"}} {
			var out, errOut bytes.Buffer
			code := run(append(args, "--nats-url", srv.ClientURL(), "--nats-user", "viewer", "--nats-password", password("viewer"),
				"--nats-inbox-prefix", inboxes["viewer"]), &out, &errOut, env(nil))
			require.Equal(t, 0, code, "%v: %s", args, errOut.String())
		}
		stop() // a clean stop leaves the quota group and ends its watch
		require.Empty(t, v.take(), "every program had the permissions it needs")

		refused(t, srv, v)
	})

	t.Run("worker that creates streams and buckets", func(t *testing.T) {
		srv, v := accountServer(t)
		_, stop := startWorkerAs(t, srv, "worker-create", true)
		_, admin := user(t, srv, "admin")
		_, err := admin.CreateObjectStore(t.Context(), jetstream.ObjectStoreConfig{Bucket: "images"})
		require.NoError(t, err)
		settled(t, srv, v, feed(t, srv))
		stop()
		require.Empty(t, v.take())
	})
}

// refused tries, as each user, what it must not do, and checks that the
// server refused each attempt and that another account stays invisible.
func refused(t *testing.T, srv *natstest.Server, v *violations) {
	t.Helper()
	// A refused request gets no answer: each attempt has its own deadline.
	attempt := func(f func(ctx context.Context) error) error {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		return f(ctx)
	}
	wnc, wjs := user(t, srv, "worker")
	require.Error(t, attempt(func(ctx context.Context) error {
		_, err := wjs.Publish(ctx, "images.upload", []byte(`{"id":"x","image":{}}`))
		return err
	}), "the worker cannot publish events")
	require.Error(t, attempt(func(ctx context.Context) error { _, err := wjs.Stream(ctx, "ORDERS"); return err }))
	require.NoError(t, attempt(func(ctx context.Context) error { _, err := wjs.Stream(ctx, "PREDICTIONS"); return err }),
		"its own streams it can read")
	_, err := wnc.SubscribeSync("orders.>")
	require.NoError(t, err) // refused asynchronously, logged below
	require.NoError(t, wnc.Flush())

	_, ijs := user(t, srv, "indexer")
	require.Error(t, attempt(func(ctx context.Context) error {
		_, err := ijs.OrderedConsumer(ctx, "DEADLETTERS", jetstream.OrderedConsumerConfig{})
		return err
	}), "indexers read results only")

	_, ejs := user(t, srv, "emit")
	require.Error(t, attempt(func(ctx context.Context) error {
		_, err := ejs.Publish(ctx, "predictions.forged", []byte(`{}`))
		return err
	}), "producers cannot forge results")

	// No program reads another's replies, and one that forgets its inbox
	// prefix gets none at all.
	enc, _ := user(t, srv, "emit")
	_, err = enc.SubscribeSync(inboxes["worker"] + ".>")
	require.NoError(t, err) // refused asynchronously, logged below
	require.NoError(t, enc.Flush())
	_, plain := connectAs(t, srv.ClientURL(), "indexer", password("indexer"), nats.CustomInboxPrefix("_INBOX"))
	require.Error(t, attempt(func(ctx context.Context) error { _, err := plain.Stream(ctx, "PREDICTIONS"); return err }),
		"an indexer with the default inbox prefix")

	// Even admin, with every right in IMAGES, cannot see ORDERS.
	_, admin := user(t, srv, "admin")
	require.ErrorIs(t, attempt(func(ctx context.Context) error { _, err := admin.Stream(ctx, "ORDERS"); return err }), jetstream.ErrStreamNotFound)

	want := []string{
		`worker: Publish Violation - Subject "images.upload"`,
		`worker: Publish Violation - Subject "$JS.API.STREAM.INFO.ORDERS"`,
		`worker: Subscription Violation - Subject "orders.>"`,
		`indexer: Publish Violation - Subject "$JS.API.CONSUMER.CREATE.DEADLETTERS.`,
		`emit: Publish Violation - Subject "predictions.forged"`,
		`emit: Subscription Violation - Subject "_INBOX_worker.>"`,
		`indexer: Subscription Violation - Subject "_INBOX.`,
	}
	var got []string
	require.Eventually(t, func() bool { got = append(got, v.take()...); return len(got) >= len(want) }, 5*time.Second, 20*time.Millisecond)
	all := strings.Join(got, "\n")
	for _, w := range want {
		require.Contains(t, all, w)
	}
	require.Len(t, got, len(want), all)
}
