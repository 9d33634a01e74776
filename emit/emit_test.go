package emit_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/emit"
	"github.com/imgpredict/worker/internal/natstest"
	"github.com/imgpredict/worker/schemas"
)

// newJetStream starts an embedded server, with the worker's input stream
// when withStream.
func newJetStream(t *testing.T, withStream bool) jetstream.JetStream {
	t.Helper()
	if !withStream {
		return natstest.JetStream(t)
	}
	return natstest.JetStream(t, jetstream.StreamConfig{
		Name: "IMAGES", Subjects: []string{"images.>"}, Duplicates: 10 * time.Minute,
	})
}

// writePNG writes a w×h PNG; noisy pixels make it compress badly, so large.
func writePNG(t *testing.T, path string, w, h int, c color.RGBA, noisy bool) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(uint64(w), uint64(h)))
	for y := range h {
		for x := range w {
			if noisy {
				c = color.RGBA{uint8(rng.Uint32()), uint8(rng.Uint32()), uint8(rng.Uint32()), 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o750))
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o600))
	return buf.Bytes()
}

func wantID(prefix string, data []byte) string {
	sum := sha256.Sum256(data)
	return prefix + hex.EncodeToString(sum[:])[:16]
}

// streamEvents reads every message of the IMAGES stream.
func streamEvents(t *testing.T, js jetstream.JetStream) []jetstream.Msg {
	t.Helper()
	cons, err := js.OrderedConsumer(t.Context(), "IMAGES", jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	batch, err := cons.FetchNoWait(1000)
	require.NoError(t, err)
	var msgs []jetstream.Msg
	for m := range batch.Messages() {
		msgs = append(msgs, m)
	}
	require.NoError(t, batch.Error())
	return msgs
}

func TestEmitDirectoryAndURL(t *testing.T) {
	js := newJetStream(t, true)
	dir := t.TempDir()
	small := map[string][]byte{
		"red.png":            writePNG(t, filepath.Join(dir, "red.png"), 8, 8, color.RGBA{255, 0, 0, 255}, false),
		"sub/blue.PNG":       writePNG(t, filepath.Join(dir, "sub", "blue.PNG"), 8, 8, color.RGBA{0, 0, 255, 255}, false),
		"sub/deep/green.png": writePNG(t, filepath.Join(dir, "sub", "deep", "green.png"), 8, 8, color.RGBA{0, 255, 0, 255}, false),
	}
	large := writePNG(t, filepath.Join(dir, "noise.png"), 64, 64, color.RGBA{}, true)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not an image"), 0o600))
	const url = "https://example.com/cat.jpg"

	cfg := emit.Config{IDPrefix: "t-", InlineMax: 4 << 10, Model: &schemas.Model{ID: "local-color"}}
	require.Greater(t, len(large), 4<<10)
	var out bytes.Buffer
	st, err := emit.Run(t.Context(), js, cfg, []string{dir, url}, &out)
	require.NoError(t, err)
	require.Equal(t, 5, st.Published)
	require.Equal(t, 5, st.Acked)
	require.Zero(t, st.Failed)
	require.Greater(t, st.Bytes, int64(len(large)))
	require.Contains(t, out.String(), "published 5 events, 5 acknowledged\n")

	byID := map[string]schemas.Event{}
	for _, m := range streamEvents(t, js) {
		require.Equal(t, "images.upload", m.Subject())
		ev, err := schemas.DecodeEvent(m.Data())
		require.NoError(t, err)
		require.Equal(t, emit.MsgID(ev.ID), m.Headers().Get(jetstream.MsgIDHeader))
		require.Equal(t, "local-color", ev.Model.ID)
		byID[ev.ID] = ev
	}
	require.Len(t, byID, 5)
	for name, data := range small {
		ev, ok := byID[wantID("t-", data)]
		require.True(t, ok, "no event for %s", name)
		require.Equal(t, data, ev.Image.Bytes, name)
	}
	ev := byID[wantID("t-", large)]
	require.NotNil(t, ev.Image.Object)
	require.Equal(t, "images", ev.Image.Object.Bucket)
	store, err := js.ObjectStore(t.Context(), "images")
	require.NoError(t, err)
	got, err := store.GetBytes(t.Context(), ev.Image.Object.Name)
	require.NoError(t, err)
	require.Equal(t, large, got)
	require.Equal(t, url, byID[wantID("t-", []byte(url))].Image.URL)

	// Emitting again is idempotent: same ids, deduplicated by the stream.
	out.Reset()
	st, err = emit.Run(t.Context(), js, cfg, []string{dir, url}, &out)
	require.NoError(t, err)
	require.Equal(t, 5, st.Acked)
	require.Equal(t, 5, st.Duplicates)
	require.Len(t, streamEvents(t, js), 5)
	require.Contains(t, out.String(), "published 5 events, 5 acknowledged\n")
}

func TestEmitJSONL(t *testing.T) {
	js := newJetStream(t, true)
	good1 := `{"id":"a1","image":{"url":"https://example.com/a.png"}}`
	good2 := `{"id":"a2","image":{"object":{"bucket":"images","name":"x"}},"metadata":{"k":"v"}}`
	bad := `{"id":"a3","image":{}}`
	path := filepath.Join(t.TempDir(), "events.jsonl")
	content := strings.Join([]string{good1, "", bad, good2, "not json"}, "\n") + "\n"
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))

	var out bytes.Buffer
	st, err := emit.Run(t.Context(), js, emit.Config{}, []string{path}, &out)
	require.ErrorIs(t, err, emit.ErrIncomplete)
	require.Equal(t, emit.Stats{Published: 2, Acked: 2, Failed: 2, Bytes: int64(len(good1) + len(good2))}, st)
	require.Contains(t, out.String(), path+":3: invalid event \"a3\": missing_image")
	require.Contains(t, out.String(), path+":5: invalid event: invalid_json")
	require.Contains(t, out.String(), "published 2 events, 2 acknowledged\n")

	msgs := streamEvents(t, js)
	require.Len(t, msgs, 2)
	require.Equal(t, good1, string(msgs[0].Data()))
	require.Equal(t, good2, string(msgs[1].Data()))
	require.Equal(t, emit.MsgID("a2"), msgs[1].Headers().Get(jetstream.MsgIDHeader))
}

func TestEmitRefusesEarly(t *testing.T) {
	img := filepath.Join(t.TempDir(), "a.png")
	writePNG(t, img, 4, 4, color.RGBA{1, 2, 3, 255}, false)
	tests := []struct {
		name    string
		stream  bool
		cfg     emit.Config
		sources []string
		wantErr error
		wantMsg string
	}{
		{name: "no stream for the subject", sources: []string{img}, wantErr: emit.ErrNoStream},
		{name: "missing file", stream: true, sources: []string{img, "no/such.png"}, wantMsg: "no/such.png"},
		{name: "directory without images", stream: true, sources: []string{t.TempDir()}, wantErr: emit.ErrNoEvents},
		{name: "bad config", stream: true, cfg: emit.Config{Subject: "images.>"}, sources: []string{img}, wantErr: emit.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			js := newJetStream(t, tt.stream)
			var out bytes.Buffer
			st, err := emit.Run(t.Context(), js, tt.cfg, tt.sources, &out)
			require.Error(t, err)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			}
			require.ErrorContains(t, err, tt.wantMsg)
			require.Zero(t, st.Published)
			if tt.stream {
				require.Empty(t, streamEvents(t, js))
			}
		})
	}
}

func TestEmitUsesObjectStoreAboveServerMaxPayload(t *testing.T) {
	srv := natstest.Start(t, func(o *server.Options) { o.MaxPayload = 32 << 10 }) // below emit's default InlineMax
	_, js := natstest.Connect(t, srv.ClientURL())
	_, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "IMAGES", Subjects: []string{"images.>"}})
	require.NoError(t, err)
	dir := t.TempDir()
	data := writePNG(t, filepath.Join(dir, "noise.png"), 80, 80, color.RGBA{}, true)
	require.Greater(t, len(data), 16<<10)
	require.Less(t, len(data), emit.DefaultInlineMax)

	st, err := emit.Run(t.Context(), js, emit.Config{}, []string{dir}, &bytes.Buffer{})
	require.NoError(t, err)
	require.Equal(t, 1, st.Acked)
	msgs := streamEvents(t, js)
	require.Len(t, msgs, 1)
	ev, err := schemas.DecodeEvent(msgs[0].Data())
	require.NoError(t, err)
	require.NotNil(t, ev.Image.Object)
}

func TestEmitStopsWhenCancelled(t *testing.T) {
	js := newJetStream(t, true)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	st, err := emit.Run(ctx, js, emit.Config{}, []string{"https://example.com/a.png"}, &bytes.Buffer{})
	require.ErrorIs(t, err, context.Canceled)
	require.NotErrorIs(t, err, emit.ErrNoStream)
	require.Zero(t, st.Published)
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     emit.Config
		wantErr string
	}{
		{name: "zero means defaults", cfg: emit.Config{}},
		{name: "wildcard subject", cfg: emit.Config{Subject: "images.*"}, wantErr: "Subject"},
		{name: "negative inline max", cfg: emit.Config{InlineMax: -1}, wantErr: "InlineMax"},
		{name: "negative window", cfg: emit.Config{Window: -1}, wantErr: "Window"},
		{name: "bucket with dot", cfg: emit.Config{Bucket: "my.images"}, wantErr: "Bucket"},
		{name: "long prefix", cfg: emit.Config{IDPrefix: strings.Repeat("p", 201)}, wantErr: "IDPrefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, emit.ErrInvalidConfig)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

// TestEmitRawPublishesWhatTheWorkerWillReject: --raw is for testing dead
// letters; without it the same lines are refused with the reason.
func TestEmitRawPublishesWhatTheWorkerWillReject(t *testing.T) {
	js := newJetStream(t, true)
	hostile := []string{"{\"id\":\"bad\\u0000id\",\"image\":{\"url\":\"https://example.com/a.png\"}}", `{"id":"dup1","id":"dup2","image":{"url":"https://example.com/a.png"}}`}
	path := filepath.Join(t.TempDir(), "events.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(hostile, "\n")+"\n"), 0o600))

	var out bytes.Buffer
	st, err := emit.Run(t.Context(), js, emit.Config{}, []string{path}, &out)
	require.ErrorIs(t, err, emit.ErrIncomplete)
	require.Equal(t, 2, st.Failed)
	require.Contains(t, out.String(), "invalid_id")
	require.Contains(t, out.String(), "invalid_json")

	st, err = emit.Run(t.Context(), js, emit.Config{Raw: true}, []string{path}, &out)
	require.NoError(t, err)
	require.Equal(t, 2, st.Acked)
	msgs := streamEvents(t, js)
	require.Len(t, msgs, 2)
	require.Equal(t, hostile[0], string(msgs[0].Data()))
}

// TestEmitAsksSeveralModels: one event per image, asking every model.
func TestEmitAsksSeveralModels(t *testing.T) {
	js := newJetStream(t, true)
	cfg := emit.Config{Models: []schemas.ModelSpec{{ID: "a"}, {ID: "b"}, {ID: "c"}}}
	var out bytes.Buffer
	_, err := emit.Run(t.Context(), js, cfg, []string{"https://example.com/x.jpg"}, &out)
	require.NoError(t, err)
	msgs := streamEvents(t, js)
	require.Len(t, msgs, 1)
	ev, err := schemas.DecodeEvent(msgs[0].Data())
	require.NoError(t, err)
	require.Equal(t, cfg.Models, ev.Models)
}
