package tail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/internal/natstest"
	"github.com/imgpredict/worker/schemas"
	"github.com/imgpredict/worker/tail"
)

// newJetStream starts an embedded server, with the worker's output
// streams when streams.
func newJetStream(t *testing.T, streams bool) jetstream.JetStream {
	t.Helper()
	if !streams {
		return natstest.JetStream(t)
	}
	return natstest.JetStream(t,
		jetstream.StreamConfig{Name: "PREDICTIONS", Subjects: []string{"predictions.>"}},
		jetstream.StreamConfig{Name: "DEADLETTERS", Subjects: []string{"deadletters.>"}},
	)
}

var (
	result = schemas.Result{
		EventID: "ev-red",
		Model:   schemas.Model{ID: "local-color"},
		Status:  schemas.Status{Code: 10000, Description: "Ok"},
		Concepts: []schemas.Concept{
			{ID: "blue", Name: "blue", Value: 0.31},
			{ID: "white", Name: "white", Value: 0.02},
			{ID: "red", Name: "red", Value: 0.62},
			{ID: "green", Name: "green", Value: 0.05},
		},
		Regions: []schemas.Region{{ID: "r1"}, {ID: "r2"}},
	}
	dead = schemas.DeadLetter{
		EventID: "ev-bad",
		Error:   schemas.ErrorInfo{Reason: "unsupported_format", Code: 30104, Description: "image: unknown format"},
	}
)

func publish(t *testing.T, js jetstream.JetStream, subject string, v any) []byte {
	t.Helper()
	data, err := json.MarshalIndent(v, "", "  ") // multi-line on purpose: --json must still print one line
	require.NoError(t, err)
	_, err = js.Publish(t.Context(), subject, data)
	require.NoError(t, err)
	return data
}

// tailOutput runs tail to completion with a deadline and returns its output.
func tailOutput(t *testing.T, js jetstream.JetStream, cfg tail.Config) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var out bytes.Buffer
	require.NoError(t, tail.Run(ctx, js, cfg, &out))
	require.NoError(t, ctx.Err(), "tail stopped by the deadline, not by Count")
	return out.String()
}

func TestTailAllPrintsTable(t *testing.T) {
	js := newJetStream(t, true)
	publish(t, js, "predictions.local-color", result)
	publish(t, js, "deadletters.images", dead)

	out := tailOutput(t, js, tail.Config{All: true, Count: 2})
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 3, out)
	require.Regexp(t, `^KIND\s+EVENT ID\s+MODEL\s+STATUS\s+REGIONS\s+COLORS\s+DETAIL$`, lines[0])
	rows := strings.Join(lines[1:], "\n")
	require.Regexp(t, `(?m)^result  ev-red +local-color +10000   2 +- +red 0.62, blue 0.31, green 0.05$`, rows)
	require.Regexp(t, `(?m)^dead    ev-bad +- +30104   - +- +unsupported_format: image: unknown format$`, rows)
}

func TestTailNewOnlyByDefault(t *testing.T) {
	js := newJetStream(t, true)
	old := result
	old.EventID = "ev-old"
	publish(t, js, "predictions.local-color", old)

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	out := &syncWriter{}
	done := make(chan error, 1)
	go func() { done <- tail.Run(ctx, js, tail.Config{Count: 1}, out) }()
	// Publish only once tail's consumers exist, or it would not see the message.
	for _, stream := range []string{"PREDICTIONS", "DEADLETTERS"} {
		require.Eventually(t, func() bool {
			s, err := js.Stream(ctx, stream)
			if err != nil {
				return false
			}
			info, err := s.Info(ctx)
			return err == nil && info.State.Consumers == 1
		}, 5*time.Second, 10*time.Millisecond)
	}
	publish(t, js, "deadletters.images", dead)
	require.NoError(t, <-done)
	require.NoError(t, ctx.Err(), "tail stopped by the deadline, not by Count")
	require.Contains(t, out.String(), "ev-bad")
	require.NotContains(t, out.String(), "ev-old")
}

func TestTailJSON(t *testing.T) {
	js := newJetStream(t, true)
	sent := [][]byte{
		publish(t, js, "predictions.local-color", result),
		publish(t, js, "deadletters.images", dead),
	}
	out := tailOutput(t, js, tail.Config{All: true, Count: 2, JSON: true})
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 2, out)
	for _, want := range sent {
		var compact bytes.Buffer
		require.NoError(t, json.Compact(&compact, want))
		require.Contains(t, lines, compact.String())
	}
	for _, l := range lines {
		require.True(t, json.Valid([]byte(l)), l)
	}
}

func TestTailWithoutStreams(t *testing.T) {
	js := newJetStream(t, false)
	err := tail.Run(t.Context(), js, tail.Config{}, &bytes.Buffer{})
	require.ErrorIs(t, err, jetstream.ErrStreamNotFound)
	require.ErrorContains(t, err, "PREDICTIONS")
}

func TestFormatTableAligns(t *testing.T) {
	long := result
	long.EventID = "an-event-id-much-longer-than-the-others"
	noConcepts := schemas.Result{EventID: "ev-empty", Status: schemas.Status{Code: 10000, Description: "Ok"}}
	var out bytes.Buffer
	require.NoError(t, tail.FormatTable(&out, []schemas.Result{result, long, noConcepts}, []schemas.DeadLetter{dead}))

	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, lines, 5)
	col := strings.Index(lines[0], "STATUS")
	for _, l := range lines[1:4] {
		require.Equal(t, "10000", l[col:col+5], l)
	}
	require.Contains(t, lines[1], "red 0.62, blue 0.31, green 0.05")
	require.True(t, strings.HasSuffix(lines[3], "Ok"), lines[3])
	require.Equal(t, "30104", lines[4][col:col+5])
}

// syncWriter lets the test read output while Run writes it.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestTailStopsAtCountWithMoreWaiting(t *testing.T) {
	js := newJetStream(t, true)
	for range 20 {
		publish(t, js, "predictions.local-color", result)
	}
	out := tailOutput(t, js, tail.Config{All: true, Count: 1})
	require.Equal(t, 2, strings.Count(out, "\n"), out)
}

func TestTailFollowsUntilCancelled(t *testing.T) {
	js := newJetStream(t, true)
	publish(t, js, "predictions.local-color", result)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	out := &syncWriter{}
	done := make(chan error, 1)
	go func() { done <- tail.Run(ctx, js, tail.Config{All: true}, out) }()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "ev-red") }, 5*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
}

// TestHostileIDsAreEscaped: an id with control characters cannot break
// the table: it is quoted with escapes, on one line.
func TestHostileIDsAreEscaped(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, tail.FormatTable(&out, []schemas.Result{{EventID: "a\x00b\nc"}}, []schemas.DeadLetter{{EventID: "d\u2028e", Error: schemas.ErrorInfo{Reason: "invalid_id", Description: "bad\rid"}}}))
	require.Contains(t, out.String(), `"a\x00b\nc"`)
	require.Contains(t, out.String(), `"d\u2028e"`)
	require.Equal(t, 3, strings.Count(out.String(), "\n"), "header and two rows:\n%s", out.String())
}
