package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

// tiny runs every scenario in a few seconds.
var tiny = sizes{
	Events: 300, Rounds: 1, QuotaWindow: 300 * time.Millisecond, LatencyRun: 300 * time.Millisecond,
	Backlogs: []int{100, 500}, NaiveRun: 200 * time.Millisecond,
	SweepWindow: 200 * time.Millisecond, SweepLatency: 200 * time.Millisecond,
	SweepWaits: []time.Duration{10 * time.Millisecond, 50 * time.Millisecond}, SweepInflight: []int{1, 4},
}

func TestRunMeasuresEveryFigure(t *testing.T) {
	o := options{
		chart:     filepath.Join(t.TempDir(), "chart.svg"),
		latency:   20 * time.Millisecond,
		rate:      10,
		lightRate: 50,
		sizes:     tiny,
	}
	rep, err := measure(t.Context(), o, zerolog.Nop(), io.Discard)
	require.NoError(t, err)

	require.Positive(t, rep.Ceiling.EventsPerS)
	require.Positive(t, rep.Worker.RatioToCeiling)
	require.Positive(t, rep.WorkerFake.RatioToCeiling)
	require.Positive(t, rep.Worker.CPUMicrosEvent)
	require.Positive(t, rep.Worker.AllocsPerEvent)
	require.Positive(t, rep.Quota.ImagesPerS)
	require.InDelta(t, 1280, rep.Settings.QuotaCeiling, 0.001)
	require.GreaterOrEqual(t, rep.Quota.InputsPerCall, 1.0)
	require.Equal(t, 15, rep.Latency.Events, "every light-load event is timed")
	require.Positive(t, rep.Latency.P50ms)
	require.GreaterOrEqual(t, rep.Latency.P99ms, rep.Latency.P50ms)
	require.Len(t, rep.Memory, 2)
	for _, m := range rep.Memory {
		for _, f := range []rssFigure{m.Worker, m.Ceiling} {
			require.Positive(t, f.BeforeMB)
			require.GreaterOrEqual(t, f.PeakMB, f.BeforeMB)
		}
	}
	require.Positive(t, rep.Naive.InstantPerS)
	require.Positive(t, rep.Naive.FakePerS)
	require.Len(t, rep.Sweep, 4)
	for _, p := range rep.Sweep {
		require.Positive(t, p.ImagesPerS, "%+v", p)
		require.Positive(t, p.P99ms, "%+v", p)
	}

	require.NoError(t, drawChart(o.chart, rep))
	svg, err := os.ReadFile(o.chart)
	require.NoError(t, err)
	requireWellFormedXML(t, svg)
	require.Equal(t, 4, bytes.Count(svg, []byte("<polyline")), "one line per panel")
	require.Equal(t, 2, bytes.Count(svg, []byte("quota ceiling")), "the quota line on both throughput panels")

	var table bytes.Buffer
	require.NoError(t, rep.table(&table))
	for _, want := range []string{"broker ceiling", "quota efficiency", "p50/p95/p99", "naive loop", "max_inflight"} {
		require.Contains(t, table.String(), want)
	}
}

func requireWellFormedXML(t *testing.T, doc []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	for {
		_, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return
		}
		require.NoError(t, err)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	var stderr bytes.Buffer
	require.Equal(t, 2, run([]string{"--rate", "0"}, io.Discard, &stderr))
	require.Contains(t, stderr.String(), "--rate")
	require.Equal(t, 2, run([]string{"extra"}, io.Discard, &stderr))
}
