package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/internal/natstest"
	"github.com/imgpredict/worker/status"
)

func TestStatusCommand(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	_, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "UPLOADS", Subjects: []string{"uploads.>"}})
	require.NoError(t, err)
	vars := env(map[string]string{"NATS_URL": srv.ClientURL(), "WORKER_SUBJECTS": "uploads.>", "WORKER_CONSUMER": "predict"})

	var out, errOut bytes.Buffer
	code := run([]string{"status"}, &out, &errOut, vars)
	require.Equal(t, 1, code, "a missing consumer is an error")
	require.Empty(t, out.String())
	require.Equal(t, "worker: status: the durable consumer does not exist: no consumer predict on stream UPLOADS (WORKER_CONSUMER; the worker creates it when it starts)\n", errOut.String(),
		"one plain line, no log lines")

	_, err = js.CreateOrUpdateConsumer(t.Context(), "UPLOADS", jetstream.ConsumerConfig{Durable: "predict", FilterSubjects: []string{"uploads.>"}})
	require.NoError(t, err)
	out.Reset()
	errOut.Reset()
	code = run([]string{"status", "--json", "--since", "5m"}, &out, &errOut, vars)
	require.Equal(t, 0, code, errOut.String())
	require.Empty(t, errOut.String())
	var r status.Report
	require.NoError(t, json.Unmarshal(out.Bytes(), &r))
	require.Equal(t, "UPLOADS", r.Input.Name)
	require.Equal(t, "predict", r.Consumer.Name)
	require.Equal(t, "5m0s", r.Window.Since)
	require.Equal(t, "predictions.*", r.Results.Filter, "WORKER_RESULTS_SUBJECT's {model} is any model")
	require.Empty(t, r.Results.Stream, "the worker has not made its output streams")

	out.Reset()
	code = run([]string{"status"}, &out, &errOut, vars)
	require.Equal(t, 0, code, errOut.String())
	require.Regexp(t, `^input stream\s+UPLOADS \(uploads\.>\): 0 messages, 0 B\n`, out.String())
}
