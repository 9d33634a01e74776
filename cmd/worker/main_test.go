package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/internal/natstest"
	sc "github.com/imgpredict/worker/predictor/clarifai/clarifaipb/statuspb"
	"github.com/imgpredict/worker/predictor/clarifai/clarifaitest"
	"github.com/imgpredict/worker/schemas"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDemoPrintsAResultForEverySample(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"demo"}, &out, &errOut, env(nil))
	require.Equal(t, 0, code, "stderr: %s", errOut.String())
	require.Equal(t, 11, strings.Count(out.String(), "\nresult "), out.String())
	require.Contains(t, out.String(), "unsupported_format")
	require.Contains(t, out.String(), "red ", "the red square on blue is seen as red")
}

func TestConfigFromEnvAndFlags(t *testing.T) {
	cfg, err := loadConfig("worker", []string{"--worker-batch-size", "64", "--embedded"},
		env(map[string]string{"WORKER_BATCH_SIZE": "32", "WORKER_BATCH_WAIT": "250ms", "CLARIFAI_MODEL_ID": "m1", "WORKER_MAX_PENDING_BYTES": "64MiB"}), io.Discard)
	require.NoError(t, err)
	require.Equal(t, int64(64<<20), cfg.Consumer.MaxPendingBytes)
	require.Equal(t, 64, cfg.Consumer.BatchSize, "a flag beats the environment")
	require.Equal(t, 250*time.Millisecond, cfg.Consumer.BatchWait)
	require.Equal(t, "m1", cfg.Consumer.DefaultModel.ID)
	require.True(t, cfg.UseEmbedded)
	require.Equal(t, "local", cfg.Predictor, "embedded without a PAT uses the offline predictor")

	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"CLARIFAI_PAT": "x", "WORKER_BATCH_SIZE": "500"}, "WORKER_BATCH_SIZE"},
		{map[string]string{"CLARIFAI_PAT": "x", "WORKER_BATCH_WAIT": "soon"}, "WORKER_BATCH_WAIT"},
		{map[string]string{"CLARIFAI_PAT": "x", "WORKER_RESULTS_SUBJECT": "images.results"}, "WORKER_RESULTS_SUBJECT"},
		{map[string]string{}, "CLARIFAI_PAT"},
		{map[string]string{"CLARIFAI_PAT": "x", "LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{map[string]string{"CLARIFAI_PAT": "x", "WORKER_MAX_PENDING_BYTES": "lots"}, "WORKER_MAX_PENDING_BYTES"},
		{map[string]string{"CLARIFAI_PAT": "x", "WORKER_MAX_PENDING_BYTES": "1KiB"}, "WORKER_MAX_PENDING_BYTES"},
	} {
		_, err := loadConfig("worker", nil, env(tc.env), io.Discard)
		require.ErrorContains(t, err, tc.want, "env %v", tc.env)
	}
}

func TestHelpNeverShowsCredentials(t *testing.T) {
	var out bytes.Buffer
	code := run([]string{"--help"}, &out, &out, env(map[string]string{
		"CLARIFAI_PAT": "pat-secret-1", "NATS_PASSWORD": "pw-secret-2", "NATS_TOKEN": "tok-secret-3", "NATS_USER": "alice",
	}))
	require.Equal(t, 0, code)
	require.Contains(t, out.String(), "alice", "ordinary settings show their value")
	for _, s := range []string{"pat-secret-1", "pw-secret-2", "tok-secret-3"} {
		require.NotContains(t, out.String(), s)
	}
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// TestWorkerAgainstFakeClarifai runs the wired worker against the fake
// Clarifai server through a throttling storm, shuffled outputs and a
// MIXED_STATUS answer, and checks every event's fate by id.
func TestWorkerAgainstFakeClarifai(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	fake := clarifaitest.NewServer()
	t.Cleanup(fake.Close)
	fake.RequirePAT("test-pat")
	fake.Shuffle(true)
	fake.EchoInputIDs(true)
	fake.Throttle(6)
	fake.FailInput("s7-d1", sc.StatusCode_INPUT_INVALID_ARGUMENT, 0)

	httpAddr := freeAddr(t)
	cfg, err := loadConfig("worker", []string{
		"--nats-url", srv.ClientURL(), "--clarifai-endpoint", fake.Addr(), "--clarifai-insecure",
		"--worker-batch-wait", "20ms", "--worker-http-addr", httpAddr,
	}, env(map[string]string{"CLARIFAI_PAT": "test-pat", "CLARIFAI_RATE_LIMIT": "200", "CLARIFAI_THROTTLE_PAUSE": "50ms"}), io.Discard)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runWorker(ctx, cfg, zerolog.Nop(), nil) }()
	t.Cleanup(func() { cancel(); <-done })

	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + httpAddr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 20*time.Millisecond)

	const n = 400
	for i := range n {
		_, err := js.PublishAsync("images.upload", []byte(fmt.Sprintf(`{"id":"evt-%d","image":{"url":"https://example.com/%d.jpg"}}`, i, i)))
		require.NoError(t, err)
	}
	<-js.PublishAsyncComplete()

	results, dead := readAll(t, js, n)
	require.Len(t, dead, 1)
	require.Equal(t, "evt-6", dead[0].EventID, "stream sequence 7 is the seventh event")
	require.Equal(t, "invalid_input", dead[0].Error.Reason)
	require.Equal(t, uint32(30104), dead[0].Error.Code)
	require.Len(t, results, n-1)
	for id, r := range results {
		want := fmt.Sprintf("s%d-d%d", r.Source.Sequence, r.Source.Deliveries)
		require.Equal(t, want, r.Concepts[0].ID, "shuffled outputs landed on the wrong event %s", id)
	}
	require.Greater(t, fake.Calls(), 6, "throttled calls were retried")

	resp, err := http.Get("http://" + httpAddr + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(body), "worker_results_total 399")
	require.Contains(t, string(body), `worker_dead_letters_total{reason="invalid_input"} 1`)
}

// readAll waits until want outputs are stored; results are keyed by event id
// and a duplicate fails the test.
func readAll(t *testing.T, js jetstream.JetStream, want int) (map[string]schemas.Result, []schemas.DeadLetter) {
	t.Helper()
	results := map[string]schemas.Result{}
	var dead []schemas.DeadLetter
	ctx := t.Context()
	var rs, ds jetstream.Consumer
	require.Eventually(t, func() bool {
		var err1, err2 error
		rs, err1 = js.OrderedConsumer(ctx, "PREDICTIONS", jetstream.OrderedConsumerConfig{})
		ds, err2 = js.OrderedConsumer(ctx, "DEADLETTERS", jetstream.OrderedConsumerConfig{})
		return err1 == nil && err2 == nil
	}, 10*time.Second, 20*time.Millisecond)
	deadline := time.Now().Add(60 * time.Second)
	for len(results)+len(dead) < want {
		require.True(t, time.Now().Before(deadline), "only %d of %d outputs", len(results)+len(dead), want)
		for _, c := range []jetstream.Consumer{rs, ds} {
			batch, err := c.FetchNoWait(500)
			require.NoError(t, err)
			for m := range batch.Messages() {
				if c == rs {
					var r schemas.Result
					require.NoError(t, json.Unmarshal(m.Data(), &r))
					_, dup := results[r.EventID]
					require.False(t, dup, "two results for %s", r.EventID)
					results[r.EventID] = r
				} else {
					var d schemas.DeadLetter
					require.NoError(t, json.Unmarshal(m.Data(), &d))
					dead = append(dead, d)
				}
			}
		}
	}
	return results, dead
}

// TestSIGTERMUnderLoadLosesNothing stops a running worker with SIGTERM
// while calls are under way, then lets a second worker finish: every
// event gets exactly one result.
func TestSIGTERMUnderLoadLosesNothing(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	fake := clarifaitest.NewServer()
	t.Cleanup(fake.Close)
	fake.SetLatency(30 * time.Millisecond)
	vars := env(map[string]string{
		"NATS_URL": srv.ClientURL(), "CLARIFAI_ENDPOINT": fake.Addr(), "CLARIFAI_INSECURE": "true",
		"CLARIFAI_PAT": "p", "CLARIFAI_RATE_LIMIT": "50", "WORKER_BATCH_SIZE": "16", "WORKER_HTTP_ADDR": "",
	})
	require.NoError(t, runUntil(t, vars, func() bool { return fake.Calls() > 0 }, func() {
		for i := range 800 {
			_, err := js.PublishAsync("images.upload", []byte(fmt.Sprintf(`{"id":"evt-%d","image":{"url":"https://example.com/x.jpg"}}`, i)))
			require.NoError(t, err)
		}
		<-js.PublishAsyncComplete()
	}))
	stream, err := js.Stream(t.Context(), "PREDICTIONS")
	require.NoError(t, err)
	info, err := stream.Info(t.Context())
	require.NoError(t, err)
	require.Less(t, info.State.Msgs, uint64(800), "the worker was stopped before it finished")

	done := make(chan int, 1)
	go func() { done <- run(nil, io.Discard, io.Discard, vars) }()
	results, dead := readAll(t, js, 800)
	require.Len(t, results, 800)
	require.Empty(t, dead)
	require.NoError(t, syscall.Kill(syscall.Getpid(), syscall.SIGTERM))
	require.Equal(t, 0, <-done)
}

// runUntil runs the worker, calls load, waits for cond, then sends the
// process SIGTERM (which the worker catches) and waits for a clean exit.
func runUntil(t *testing.T, vars func(string) string, cond func() bool, load func()) error {
	t.Helper()
	done := make(chan int, 1)
	go func() { done <- run(nil, io.Discard, io.Discard, vars) }()
	load()
	require.Eventually(t, cond, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, syscall.Kill(syscall.Getpid(), syscall.SIGTERM))
	if code := <-done; code != 0 {
		return fmt.Errorf("exit code %d", code)
	}
	return nil
}

// TestStreamsUnderOtherNamesAreUsed: an operator's own dead-letter stream
// captures the dead-letter subject, so the worker uses it and consumes.
func TestStreamsUnderOtherNamesAreUsed(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	_, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "DEADLETTER", Subjects: []string{"deadletter.>"}})
	require.NoError(t, err)
	vars := env(map[string]string{
		"NATS_URL": srv.ClientURL(), "WORKER_PREDICTOR": "local", "WORKER_HTTP_ADDR": "",
		"WORKER_DEADLETTER_SUBJECT": "deadletter.images",
	})
	done := make(chan int, 1)
	go func() { done <- run(nil, io.Discard, io.Discard, vars) }()
	_, err = js.Publish(t.Context(), "images.upload", []byte(`{"id":"bad","image":{"url":"ftp://x/y.jpg"}}`))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		s, err := js.Stream(t.Context(), "DEADLETTER")
		return err == nil && s.CachedInfo().State.Msgs == 1
	}, 10*time.Second, 20*time.Millisecond, "the dead letter went to the operator's stream")
	require.NoError(t, syscall.Kill(syscall.Getpid(), syscall.SIGTERM))
	require.Equal(t, 0, <-done)
}

// TestConfigurationThatCannotWorkExits: no stream captures the outputs and
// creating streams is off, so the worker exits non-zero at once with an
// error naming the setting, instead of retrying for ever.
func TestConfigurationThatCannotWorkExits(t *testing.T) {
	srv := natstest.Start(t)
	var stderr bytes.Buffer
	code := make(chan int, 1)
	go func() {
		code <- run(nil, io.Discard, &stderr, env(map[string]string{
			"NATS_URL": srv.ClientURL(), "WORKER_PREDICTOR": "local", "WORKER_HTTP_ADDR": "",
			"WORKER_CREATE_STREAMS": "false",
		}))
	}()
	select {
	case c := <-code:
		require.Equal(t, 1, c)
	case <-time.After(10 * time.Second):
		t.Fatal("the worker did not exit")
	}
	require.Contains(t, stderr.String(), "WORKER_RESULTS_SUBJECT")
	require.Contains(t, stderr.String(), "WORKER_CREATE_STREAMS is false")
}

// TestInboxPrefixIsChecked: an inbox prefix that no client could use is
// refused before anything connects, by the worker and by its tools, with
// the setting named.
func TestInboxPrefixIsChecked(t *testing.T) {
	for _, bad := range []string{"_INBOX.>", "_INBOX.*.x", "_INBOX.", ".x", "a..b", "has space"} {
		_, err := loadConfig("worker", nil, env(map[string]string{"WORKER_PREDICTOR": "local", "NATS_INBOX_PREFIX": bad}), io.Discard)
		require.ErrorContains(t, err, "NATS_INBOX_PREFIX", bad)
		var stderr bytes.Buffer
		require.Equal(t, 1, run([]string{"status"}, io.Discard, &stderr, env(map[string]string{"NATS_INBOX_PREFIX": bad})), bad)
		require.Contains(t, stderr.String(), "NATS_INBOX_PREFIX", bad)
	}
	_, err := loadConfig("worker", nil, env(map[string]string{"WORKER_PREDICTOR": "local", "NATS_INBOX_PREFIX": "_INBOX_worker"}), io.Discard)
	require.NoError(t, err)
}

// TestProfilesOnlyOnTheirOwnAddress: WORKER_PPROF_ADDR serves pprof; the
// metrics address never does, and the two may not be the same.
func TestProfilesOnlyOnTheirOwnAddress(t *testing.T) {
	srv := natstest.Start(t)
	httpAddr, pprofAddr := freeAddr(t), freeAddr(t)
	vars := env(map[string]string{"NATS_URL": srv.ClientURL(), "WORKER_PREDICTOR": "local",
		"WORKER_HTTP_ADDR": httpAddr, "WORKER_PPROF_ADDR": pprofAddr})
	done := make(chan int, 1)
	go func() { done <- run(nil, io.Discard, io.Discard, vars) }()
	get := func(url string) int {
		resp, err := http.Get(url)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Eventually(t, func() bool { return get("http://"+pprofAddr+"/debug/pprof/cmdline") == http.StatusOK },
		10*time.Second, 20*time.Millisecond)
	require.Equal(t, http.StatusNotFound, get("http://"+httpAddr+"/debug/pprof/cmdline"))
	require.NoError(t, syscall.Kill(syscall.Getpid(), syscall.SIGTERM))
	require.Equal(t, 0, <-done)

	_, err := loadConfig("worker", nil, env(map[string]string{"WORKER_PREDICTOR": "local", "WORKER_PPROF_ADDR": ":9090"}), io.Discard)
	require.ErrorContains(t, err, "WORKER_PPROF_ADDR")
}

// TestToolsPrintNoLogLinesToPeople: tail's table is the whole output; no
// JSON log line (such as "disconnected" as it closes) follows it.
func TestToolsPrintNoLogLinesToPeople(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	_, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "PREDICTIONS", Subjects: []string{"predictions.>"}})
	require.NoError(t, err)
	_, err = js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "DEADLETTERS", Subjects: []string{"deadletters.>"}})
	require.NoError(t, err)
	_, err = js.Publish(t.Context(), "predictions.m", []byte(`{"schema_version":1,"event_id":"e1","model":{"id":"m"},"status":{"code":10000,"description":"Ok"},"concepts":[],"regions":[],"source":{"stream":"IMAGES","sequence":1,"subject":"images.x","deliveries":1},"predicted_at":"2026-11-30T00:00:00Z"}`))
	require.NoError(t, err)
	var out, errOut bytes.Buffer
	code := run([]string{"tail", "--all", "--count", "1"}, &out, &errOut, env(map[string]string{"NATS_URL": srv.ClientURL()}))
	require.Equal(t, 0, code, errOut.String())
	require.Contains(t, out.String(), "e1")
	require.Empty(t, errOut.String())
}

// TestAccountOutagePausesEveryReplica: while Clarifai answers every call
// with 11007 (the key lacks a scope), three workers on one consumer make no dead
// letters and few calls, say so on /readyz, and all resume once calls
// pass again.
func TestAccountOutagePausesEveryReplica(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	fake := clarifaitest.NewServer()
	t.Cleanup(fake.Close)
	fake.SetLatency(20 * time.Millisecond)
	fake.SetOutage(sc.StatusCode_CONN_INSUFFICIENT_SCOPES)

	var addrs []string
	for range 3 {
		httpAddr := freeAddr(t)
		addrs = append(addrs, httpAddr)
		cfg, err := loadConfig("worker", nil, env(map[string]string{
			"NATS_URL": srv.ClientURL(), "CLARIFAI_ENDPOINT": fake.Addr(), "CLARIFAI_INSECURE": "true",
			"CLARIFAI_PAT": "p", "CLARIFAI_RATE_LIMIT": "15", "WORKER_HTTP_ADDR": httpAddr,
			"WORKER_PAUSE_PROBE_MIN": "2s", "WORKER_PAUSE_PROBE_MAX": "4s",
		}), io.Discard)
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- runWorker(ctx, cfg, zerolog.Nop(), nil) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	readyz := func(addr string) (int, string) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	require.Eventually(t, func() bool {
		_, err := js.Consumer(t.Context(), "IMAGES", "image-predictor")
		return err == nil
	}, 10*time.Second, 20*time.Millisecond)

	const n = 2000
	for i := range n {
		_, err := js.PublishAsync("images.upload", fmt.Appendf(nil, `{"id":"evt-%d","image":{"url":"https://example.com/%d.jpg"}}`, i, i))
		require.NoError(t, err)
	}
	<-js.PublishAsyncComplete()
	require.Eventually(t, func() bool {
		for _, a := range addrs {
			if code, body := readyz(a); code != http.StatusServiceUnavailable || !strings.Contains(body, "auth_failed") {
				return false
			}
		}
		c, err := js.Consumer(t.Context(), "IMAGES", "image-predictor")
		return err == nil && c.CachedInfo().Paused
	}, 20*time.Second, 50*time.Millisecond, "every replica paused, and the consumer on the server")
	callsAtPause := fake.Calls()
	time.Sleep(10 * time.Second) // the outage goes on
	during := fake.Calls()
	fake.SetOutage(0)
	recovered := time.Now()
	t.Logf("calls: %d until every replica paused, %d in all during the outage", callsAtPause, during)
	// Until a replica's own call fails, each of its call slots may be out
	// (3 × WORKER_MAX_INFLIGHT 8); once all are paused, only probes go
	// out (each replica's at 2, 6 and 10 s), and calls that were on
	// their way.
	require.LessOrEqual(t, callsAtPause, 3*8, "calls went out after the first failures came back")
	require.LessOrEqual(t, during-callsAtPause, 15, "calls kept going out while the account could not make any")

	results, dead := readAll(t, js, n)
	t.Logf("every event had its result %s after the outage ended", time.Since(recovered).Round(100*time.Millisecond))
	require.Len(t, results, n)
	require.Empty(t, dead, "an account outage is no event's fault")
	require.Less(t, time.Since(recovered), time.Minute)
	for _, a := range addrs {
		code, body := readyz(a)
		require.Equal(t, http.StatusOK, code, body)
	}
}

// jpegOf encodes a w x h JPEG, left half red and right half blue, with an
// EXIF orientation tag unless orientation is 0.
func jpegOf(t *testing.T, w, h, orientation int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{R: 220, A: 255}
			if x >= w/2 {
				c = color.RGBA{B: 220, A: 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	require.NoError(t, jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}))
	b := buf.Bytes()
	if orientation == 0 {
		return b
	}
	// APP1: "Exif", then a little-endian TIFF header and one IFD entry:
	// tag 0x0112 (Orientation), type SHORT, count 1.
	tiff := []byte{'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, byte(orientation), 0, 0, 0, 0, 0, 0, 0}
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	return slices.Concat(b[:2], seg, payload, b[2:])
}

// TestImagesAsPeopleUploadThem: what reaches Clarifai is upright, no larger
// than asked, byte for byte what was sent when nothing needs changing, and
// never a file that is no image or too large to decode.
func TestImagesAsPeopleUploadThem(t *testing.T) {
	sideways := jpegOf(t, 64, 32, 6)
	plain := jpegOf(t, 60, 30, 0)
	var pngBuf bytes.Buffer
	require.NoError(t, png.Encode(&pngBuf, image.NewGray(image.Rect(0, 0, 20, 10))))
	// A PNG header that claims 9487 x 9487 pixels (90 megapixels).
	bomb := slices.Clone(pngBuf.Bytes())
	binary.BigEndian.PutUint32(bomb[16:], 9487)
	binary.BigEndian.PutUint32(bomb[20:], 9487)
	binary.BigEndian.PutUint32(bomb[29:], crc32.ChecksumIEEE(bomb[12:29])) // IHDR's CRC
	truncated := plain[:len(plain)/2]
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(sideways) }))
	t.Cleanup(files.Close)

	b64 := func(id string, b []byte) []byte {
		return fmt.Appendf(nil, `{"id":%q,"image":{"base64":%q}}`, id, base64.StdEncoding.EncodeToString(b))
	}
	run := func(t *testing.T, extra map[string]string, events ...[]byte) (*clarifaitest.Server, map[string]schemas.Result, []schemas.DeadLetter) {
		srv := natstest.Start(t)
		_, js := natstest.Connect(t, srv.ClientURL())
		fake := clarifaitest.NewServer()
		t.Cleanup(fake.Close)
		fake.RecordImages(true)
		vars := map[string]string{"NATS_URL": srv.ClientURL(), "CLARIFAI_ENDPOINT": fake.Addr(), "CLARIFAI_INSECURE": "true",
			"CLARIFAI_PAT": "p", "WORKER_HTTP_ADDR": "", "WORKER_BATCH_WAIT": "20ms"}
		maps.Copy(vars, extra)
		cfg, err := loadConfig("worker", nil, env(vars), io.Discard)
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- runWorker(ctx, cfg, zerolog.Nop(), nil) }()
		t.Cleanup(func() { cancel(); <-done })
		require.Eventually(t, func() bool {
			_, err := js.Stream(t.Context(), "IMAGES")
			return err == nil
		}, 10*time.Second, 20*time.Millisecond)
		for _, e := range events {
			_, err := js.Publish(t.Context(), "images.upload", e)
			require.NoError(t, err)
		}
		results, dead := readAll(t, js, len(events))
		return fake, results, dead
	}
	sent := func(fake *clarifaitest.Server) map[string][]byte { // by input id, s<seq>-d1
		out := map[string][]byte{}
		for _, r := range fake.Requests() {
			for i, id := range r.InputIDs {
				require.Empty(t, r.URLs[i], "a URL was sent, not the image's bytes")
				out[id] = r.Images[i]
			}
		}
		return out
	}
	size := func(b []byte) (int, int) {
		c, _, err := image.DecodeConfig(bytes.NewReader(b))
		require.NoError(t, err)
		return c.Width, c.Height
	}

	t.Run("defaults", func(t *testing.T) {
		fake, results, dead := run(t, map[string]string{"WORKER_FETCH_URLS": "true", "WORKER_FETCH_ALLOW_PRIVATE": "true"},
			b64("sideways", sideways), b64("plain", plain), b64("png", pngBuf.Bytes()), b64("bomb", bomb),
			b64("truncated", truncated), []byte(`{"id":"abc","image":{"base64":"YWJj"}}`),
			fmt.Appendf(nil, `{"id":"fetched","image":{"url":%q}}`, files.URL+"/photo.jpg"))
		reasons := map[string]string{}
		for _, d := range dead {
			reasons[d.EventID] = d.Error.Reason
		}
		require.Equal(t, map[string]string{"bomb": "image_too_large", "truncated": "unsupported_format", "abc": "unsupported_format"}, reasons)
		got := sent(fake)
		require.Len(t, got, 4, "dead letters cost no call")
		w, h := size(got["s1-d1"])
		require.Equal(t, [2]int{32, 64}, [2]int{w, h}, "64x32 pixels stored sideways reach Clarifai as 32x64 upright")
		require.Equal(t, &schemas.ImageInfo{Width: 32, Height: 64, Orientation: 6}, results["sideways"].Image)
		require.Equal(t, plain, got["s2-d1"], "an image that needs no change is sent byte for byte")
		require.Equal(t, &schemas.ImageInfo{Width: 60, Height: 30}, results["plain"].Image)
		require.Equal(t, pngBuf.Bytes(), got["s3-d1"])
		w, h = size(got["s7-d1"])
		require.Equal(t, [2]int{32, 64}, [2]int{w, h}, "a fetched URL image is prepared and sent as bytes")
	})
	t.Run("max side", func(t *testing.T) {
		fake, results, dead := run(t, map[string]string{"WORKER_IMAGE_MAX_SIDE": "32"}, b64("wide", jpegOf(t, 64, 32, 0)))
		require.Empty(t, dead)
		w, h := size(sent(fake)["s1-d1"])
		require.Equal(t, [2]int{32, 16}, [2]int{w, h})
		require.Equal(t, &schemas.ImageInfo{Width: 32, Height: 16, Original: &schemas.Size{Width: 64, Height: 32}}, results["wide"].Image)
	})
}

// TestEveryFieldReachesTheResult: through the real client and the fake
// Clarifai server, events asking several models get one result per
// model, on the subject of the model asked, with everything the model
// returned (embeddings, colours, polygons, keypoints, track ids, output
// id and time), each valid against the result schema; outputs that echo
// no input id are matched by position; concepts selected by name go out
// with value 1; every call names the worker's version.
func TestEveryFieldReachesTheResult(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	fake := clarifaitest.NewServer()
	t.Cleanup(fake.Close)
	fake.OmitInputIDs(true)
	fake.SetPayload("embedder", clarifaitest.Embeddings(1, 1024))
	fake.SetPayload("colorizer", clarifaitest.Colors(3))
	fake.SetPayload("posenet", clarifaitest.Keypoints(2, 17))
	fake.SetPayload("outliner", clarifaitest.Polygons(2, 6))
	cfg, err := loadConfig("worker", nil, env(map[string]string{
		"NATS_URL": srv.ClientURL(), "CLARIFAI_ENDPOINT": fake.Addr(), "CLARIFAI_INSECURE": "true",
		"CLARIFAI_PAT": "p", "WORKER_HTTP_ADDR": "", "WORKER_BATCH_WAIT": "50ms",
	}), io.Discard)
	require.NoError(t, err)
	cfg.Clarifai.Version = "1.2.3"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runWorker(ctx, cfg, zerolog.Nop(), nil) }()
	t.Cleanup(func() { cancel(); <-done })
	require.Eventually(t, func() bool {
		_, err := js.Stream(t.Context(), "IMAGES")
		return err == nil
	}, 10*time.Second, 20*time.Millisecond)

	want := 0
	for i := range 10 {
		_, err := js.Publish(t.Context(), "images.upload", fmt.Appendf(nil,
			`{"id":"multi-%d","image":{"url":"https://example.com/%d.jpg"},"models":[{"id":"embedder"},{"id":"colorizer"},{"id":"posenet"},{"id":"outliner"}]}`, i, i))
		require.NoError(t, err)
		want += 4
	}
	_, err = js.Publish(t.Context(), "images.upload",
		[]byte(`{"id":"selected","image":{"url":"https://example.com/s.jpg"},"output_config":{"select_concepts":[{"name":"train"},"id-x"]}}`))
	require.NoError(t, err)
	want++

	results := map[string]schemas.Result{} // by event id and model asked
	s, err := js.Stream(t.Context(), "PREDICTIONS")
	require.NoError(t, err)
	oc, err := s.OrderedConsumer(t.Context(), jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	deadline := time.Now().Add(30 * time.Second)
	for len(results) < want && time.Now().Before(deadline) {
		batch, err := oc.Fetch(want, jetstream.FetchMaxWait(time.Second))
		require.NoError(t, err)
		for m := range batch.Messages() {
			require.NoError(t, schemas.ValidateResult(m.Data()))
			var r schemas.Result
			require.NoError(t, json.Unmarshal(m.Data(), &r))
			key := r.EventID + " " + strings.TrimPrefix(m.Subject(), "predictions.")
			require.NotContains(t, results, key, "two results for one event and model")
			results[key] = r
		}
	}
	require.Len(t, results, want)

	e := results["multi-3 embedder"]
	require.Len(t, e.Embeddings, 1)
	require.Equal(t, uint32(1024), e.Embeddings[0].NumDimensions)
	require.Len(t, e.Embeddings[0].Vector, 1024)
	require.NotNil(t, e.Output)
	require.NotEmpty(t, e.Output.ID)
	require.False(t, e.Output.CreatedAt.IsZero())
	require.Len(t, results["multi-3 colorizer"].Colors, 3)
	require.NotEmpty(t, results["multi-3 colorizer"].Colors[0].W3C.Name)
	pose := results["multi-3 posenet"].Regions
	require.Len(t, pose, 2)
	require.Len(t, pose[0].Keypoints, 17)
	require.Equal(t, "visible", pose[0].Keypoints[0].Visibility)
	require.NotNil(t, pose[0].Point)
	require.Equal(t, "track-0", pose[0].TrackID)
	require.Len(t, results["multi-3 outliner"].Regions[0].Polygon, 6)

	var selected *clarifaitest.Request
	for _, r := range fake.Requests() {
		require.Equal(t, []string{"image-worker-1.2.3"}, r.Metadata.Get("x-clarifai-request-id-prefix"))
		if r.OutputConfig != nil && len(r.OutputConfig.GetSelectConcepts()) > 0 {
			selected = &r
		}
	}
	require.NotNil(t, selected)
	sel := selected.OutputConfig.GetSelectConcepts()
	require.Len(t, sel, 2)
	require.Equal(t, "train", sel[0].GetName())
	require.Equal(t, "id-x", sel[1].GetId())
	for _, c := range sel {
		require.Equal(t, float32(1), c.GetValue(), "1 selects a concept")
	}
}

// TestTracingOnlyWhenAsked: no OTEL_* variable, no tracer; the console
// exporter prints spans; an unknown exporter is refused by name.
func TestTracingOnlyWhenAsked(t *testing.T) {
	tp, stop, err := newTracing(t.Context(), env(nil), io.Discard)
	require.NoError(t, err)
	require.Nil(t, tp)
	require.NoError(t, stop(t.Context()))

	var out bytes.Buffer
	tp, stop, err = newTracing(t.Context(), env(map[string]string{"OTEL_TRACES_EXPORTER": "console"}), &out)
	require.NoError(t, err)
	_, span := tp.Tracer("t").Start(t.Context(), "hello")
	span.End()
	require.NoError(t, stop(t.Context()))
	require.Contains(t, out.String(), `"Name":"hello"`)

	_, _, err = newTracing(t.Context(), env(map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}), io.Discard)
	require.ErrorContains(t, err, "OTEL_TRACES_EXPORTER")
}
