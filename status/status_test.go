package status_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/internal/natstest"
	"github.com/imgpredict/worker/status"
)

// workerLike makes the streams and the durable consumer as the worker
// does, five events of which two are delivered and not acked, three
// results and four dead letters.
func workerLike(t *testing.T) jetstream.JetStream {
	t.Helper()
	js := natstest.JetStream(t,
		jetstream.StreamConfig{Name: "IMAGES", Subjects: []string{"images.>"}},
		jetstream.StreamConfig{Name: "OUT", Subjects: []string{"predictions.>", "deadletters.>"}},
	)
	ctx := t.Context()
	cons, err := js.CreateOrUpdateConsumer(ctx, "IMAGES", jetstream.ConsumerConfig{
		Durable: "image-predictor", AckPolicy: jetstream.AckExplicitPolicy, FilterSubjects: []string{"images.>"},
	})
	require.NoError(t, err)
	for range 5 {
		_, err := js.Publish(ctx, "images.upload", []byte(`{"id":"e","image":{"url":"https://example.com/a.jpg"}}`))
		require.NoError(t, err)
	}
	batch, err := cons.Fetch(2)
	require.NoError(t, err)
	for range batch.Messages() {
	}
	require.NoError(t, batch.Error())

	for _, s := range []string{"predictions.general", "predictions.general", "predictions.color"} {
		_, err := js.Publish(ctx, s, []byte(`{"event_id":"e","status":{"code":10000}}`))
		require.NoError(t, err)
	}
	for _, d := range []string{
		`{"event_id":"a","error":{"reason":"invalid_url","code":0}}`,
		`{"event_id":"b","error":{"reason":"model_not_found","code":21200}}`,
		`{"event_id":"c","error":{"reason":"invalid_url","code":0}}`,
		`not json`,
	} {
		_, err := js.Publish(ctx, "deadletters.images", []byte(d))
		require.NoError(t, err)
	}
	return js
}

func config() status.Config {
	return status.Config{
		Subjects:         []string{"images.>"},
		Durable:          "image-predictor",
		ResultsFilter:    "predictions.*",
		DeadLetterFilter: "deadletters.images",
		Since:            time.Hour,
		MaxRead:          status.DefaultMaxRead,
	}
}

func TestReportOfAWorkerLikeSetup(t *testing.T) {
	js := workerLike(t)
	r, err := status.Collect(t.Context(), js, config())
	require.NoError(t, err)

	require.Equal(t, status.Stream{Name: "IMAGES", Subjects: []string{"images.>"}, Messages: 5, Bytes: r.Input.Bytes}, r.Input)
	require.Positive(t, r.Input.Bytes)
	require.Equal(t, status.Consumer{Name: "image-predictor", Pending: 3, AckPending: 2}, r.Consumer)
	require.Equal(t, "1h0m0s", r.Window.Since)
	require.Equal(t, status.Outputs{Stream: "OUT", Filter: "predictions.*", Messages: 3}, r.Results)
	require.Equal(t, status.Outputs{
		Stream: "OUT", Filter: "deadletters.images", Messages: 4, ReasonsRead: 4,
		ByReason: map[string]uint64{"invalid_url": 2, "model_not_found": 1, status.UndecodableReason: 1},
	}, r.DeadLetters)

	var table bytes.Buffer
	require.NoError(t, status.WriteTable(&table, r))
	out := table.String()
	for _, line := range []string{
		`input stream\s+IMAGES \(images\.>\): 5 messages, \d+ B`,
		`consumer\s+image-predictor`,
		`  pending\s+3`,
		`  ack pending\s+2`,
		`  redelivered\s+0`,
		`  paused\s+no`,
		`window\s+the last 1h, since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`,
		`results\s+3 \(OUT, predictions\.\*\)`,
		`dead letters\s+4 \(OUT, deadletters\.images\)`,
		`    invalid_url\s+2\n    \(undecodable\)\s+1\n    model_not_found\s+1`,
	} {
		require.Regexp(t, line, out)
	}
	require.NotContains(t, out, "first", "every dead letter was read")

	var js2 bytes.Buffer
	require.NoError(t, status.WriteJSON(&js2, r))
	var back status.Report
	require.NoError(t, json.Unmarshal(js2.Bytes(), &back))
	require.Equal(t, r.Consumer, back.Consumer)
	require.Equal(t, r.DeadLetters, back.DeadLetters)
	require.Contains(t, js2.String(), `"ack_pending": 2`)
	require.Contains(t, js2.String(), `"images.>"`, "subjects as written")

	// The counting consumers are gone: only the worker's durable is left.
	for _, s := range []string{"IMAGES", "OUT"} {
		stream, err := js.Stream(t.Context(), s)
		require.NoError(t, err)
		names := stream.ConsumerNames(t.Context())
		var got []string
		for n := range names.Name() {
			got = append(got, n)
		}
		require.NoError(t, names.Err())
		if s == "IMAGES" {
			require.Equal(t, []string{"image-predictor"}, got)
		} else {
			require.Empty(t, got)
		}
	}
}

func TestOnlyTheWindowIsCounted(t *testing.T) {
	js := workerLike(t)
	cfg := config()
	cfg.Since = time.Microsecond // everything was stored before Collect started
	r, err := status.Collect(t.Context(), js, cfg)
	require.NoError(t, err)
	require.Zero(t, r.Results.Messages)
	require.Zero(t, r.DeadLetters.Messages)
	require.Empty(t, r.DeadLetters.ByReason)
}

func TestReadingReasonsIsBounded(t *testing.T) {
	js := workerLike(t)
	cfg := config()
	cfg.MaxRead = 2
	r, err := status.Collect(t.Context(), js, cfg)
	require.NoError(t, err)
	require.Equal(t, uint64(4), r.DeadLetters.Messages, "the count is exact")
	require.Equal(t, uint64(2), r.DeadLetters.ReasonsRead)
	require.Equal(t, map[string]uint64{"invalid_url": 1, "model_not_found": 1}, r.DeadLetters.ByReason, "the oldest two")

	var table bytes.Buffer
	require.NoError(t, status.WriteTable(&table, r))
	require.Regexp(t, `  by reason\s+of the first 2 only`, table.String())
}

func TestPausedConsumerShowsAsPaused(t *testing.T) {
	js := workerLike(t)
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	_, err := js.PauseConsumer(t.Context(), "IMAGES", "image-predictor", until)
	require.NoError(t, err)

	r, err := status.Collect(t.Context(), js, config())
	require.NoError(t, err)
	require.True(t, r.Consumer.Paused)
	require.NotNil(t, r.Consumer.PausedUntil)
	require.True(t, until.Equal(*r.Consumer.PausedUntil), "%s, want %s", r.Consumer.PausedUntil, until)

	var table bytes.Buffer
	require.NoError(t, status.WriteTable(&table, r))
	require.Regexp(t, `  paused\s+yes, until `+until.Format(time.RFC3339)+` \((59m\d+s|1h0m0s) left\)`, table.String())
}

func TestMissingConsumerOrStream(t *testing.T) {
	js := natstest.JetStream(t, jetstream.StreamConfig{Name: "IMAGES", Subjects: []string{"images.>"}})
	_, err := status.Collect(t.Context(), js, config())
	require.ErrorIs(t, err, status.ErrNoConsumer)
	require.ErrorContains(t, err, "no consumer image-predictor on stream IMAGES")

	cfg := config()
	cfg.Subjects = []string{"uploads.>"}
	_, err = status.Collect(t.Context(), js, cfg)
	require.ErrorContains(t, err, "no stream captures WORKER_SUBJECTS [uploads.>]")
}

func TestMissingOutputStreamCountsNothing(t *testing.T) {
	js := natstest.JetStream(t, jetstream.StreamConfig{Name: "IMAGES", Subjects: []string{"images.>"}})
	_, err := js.CreateOrUpdateConsumer(t.Context(), "IMAGES", jetstream.ConsumerConfig{Durable: "image-predictor"})
	require.NoError(t, err)
	r, err := status.Collect(t.Context(), js, config())
	require.NoError(t, err)
	require.Equal(t, status.Outputs{Filter: "predictions.*"}, r.Results)

	var table bytes.Buffer
	require.NoError(t, status.WriteTable(&table, r))
	require.True(t, strings.Contains(table.String(), "no stream captures predictions.*"), table.String())
}

func TestConfigIsValidated(t *testing.T) {
	for _, mutate := range []func(*status.Config){
		func(c *status.Config) { c.Subjects = nil },
		func(c *status.Config) { c.Durable = "" },
		func(c *status.Config) { c.ResultsFilter = "" },
		func(c *status.Config) { c.DeadLetterFilter = "" },
		func(c *status.Config) { c.Since = 0 },
		func(c *status.Config) { c.MaxRead = 0 },
	} {
		cfg := config()
		mutate(&cfg)
		require.ErrorIs(t, cfg.Validate(), status.ErrInvalidConfig)
	}
	require.NoError(t, config().Validate())
}
