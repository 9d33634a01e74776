package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
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
	DupEvents: 300, HitEvents: 300, ModelsWindow: 300 * time.Millisecond,
	PhotoWidth: 1600, PhotoHeight: 1200, PhotoRounds: 1,
}

// TestMain lets the test binary serve NATS when the as-deployed scenario
// starts it again for that, as the program does.
func TestMain(m *testing.M) {
	serveIfAsked()
	os.Exit(m.Run())
}

func TestInProcessMeasuresEveryFigure(t *testing.T) {
	o := options{
		chart:     filepath.Join(t.TempDir(), "chart.svg"),
		latency:   20 * time.Millisecond,
		rate:      10,
		lightRate: 50,
		sizes:     tiny,
		mode:      modeInProcess,
	}
	rep, err := measure(t.Context(), o, zerolog.Nop(), io.Discard)
	require.NoError(t, err)
	require.Nil(t, rep.Deployed, "only the in-process scenarios ran")
	in := rep.InProcess

	require.Positive(t, in.Ceiling.EventsPerS)
	require.Positive(t, in.Worker.RatioToCeiling)
	require.Positive(t, in.WorkerFake.RatioToCeiling)
	require.Positive(t, in.Worker.CPUMicrosEvent)
	require.Positive(t, in.Worker.AllocsPerEvent)
	require.Positive(t, in.Quota.ImagesPerS)
	require.InDelta(t, 1280, rep.Settings.QuotaCeiling, 0.001)
	require.GreaterOrEqual(t, in.Quota.InputsPerCall, 1.0)
	require.Equal(t, 15, in.Latency.Events, "every light-load event is timed")
	require.Positive(t, in.Latency.P50ms)
	require.GreaterOrEqual(t, in.Latency.P99ms, in.Latency.P50ms)
	require.Len(t, in.Memory, 2)
	for _, m := range in.Memory {
		for _, f := range []rssFigure{m.Worker, m.Ceiling} {
			require.Positive(t, f.BeforeMB)
			require.GreaterOrEqual(t, f.PeakMB, f.BeforeMB)
		}
	}
	require.Positive(t, in.Naive.InstantPerS)
	require.Positive(t, in.Naive.FakePerS)

	d := in.Duplicates
	require.Equal(t, 300, d.Events)
	require.Equal(t, 150, d.Images)
	require.GreaterOrEqual(t, d.Inputs, d.Images, "every distinct image is predicted")
	require.Equal(t, d.Events, d.Inputs+d.SameCall+d.InFlight+d.CacheHits,
		"each event is sent, or shares its call's input for the same image, or waits for another call's, or is answered from the cache")
	require.Positive(t, d.SameCall, "a repeat in the same batch is sent once")
	require.Equal(t, d.Events-d.CacheHits, d.CacheMisses, "every event looks up the cache")
	require.Equal(t, 300, d.HitPath.Events)
	require.Positive(t, d.HitPath.RatioToCeiling)
	require.Zero(t, d.HitCalls, "every image of the hit path is in the cache")

	ph := in.Photos
	for _, p := range []photoPrep{ph.Rotate, ph.Scaled} {
		require.Positive(t, p.PerCore)
		require.Positive(t, p.OutOverIn)
	}
	require.Less(t, ph.Scaled.OutOverIn, ph.Rotate.OutOverIn, "scaled to 1024 px, the photo is smaller")

	m := in.Models
	require.Len(t, m.Models, 3)
	calls := 0
	for _, s := range m.Models {
		require.Positive(t, s.Calls, "the fake answers any model: %s", s.Model)
		calls += s.Calls
	}
	require.Equal(t, m.Calls, calls, "every call was for one of the models asked")
	require.Positive(t, m.ImagesPerS)
	require.GreaterOrEqual(t, m.InputsPerCall, 1.0)
	require.Len(t, in.Sweep, 4)
	for _, p := range in.Sweep {
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
	for _, want := range []string{"broker ceiling", "quota efficiency", "p50/p95/p99", "naive loop", "duplicate images", "cache-hit path", "3 models", "color-recognition", "phone photo", "max_inflight"} {
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

func TestDeployedMeasuresEveryFigure(t *testing.T) {
	sz := tiny
	sz.DeployedEvents = 5000
	sz.FleetEvents, sz.FleetWindow = 30000, 500*time.Millisecond
	o := options{sizes: sz, mode: modeDeployed, variants: []variant{{Name: "GOGC=400", Env: []string{"GOGC=400"}}}}
	rep, err := measure(t.Context(), o, zerolog.Nop(), io.Discard) // builds the worker with the go command running this test
	require.NoError(t, err)
	require.Nil(t, rep.InProcess, "only the as-deployed scenario ran")
	d := rep.Deployed

	require.Positive(t, d.Ceiling.Median.EventsPerS)
	require.Positive(t, d.Ceiling.Median.ServerCPUus)
	require.Positive(t, d.Ceiling.Median.ServerPeakMB)
	require.Positive(t, d.WorkerResultBytes, "the worker's results were read back")
	require.Len(t, d.Workers, 2)
	require.Equal(t, "default", d.Workers[0].Name)
	require.Equal(t, []string{"GOGC=400"}, d.Workers[1].Env)
	for _, w := range d.Workers {
		m := w.Median
		require.Len(t, w.Rounds, 1, w.Name)
		require.Positive(t, m.EventsPerS, w.Name)
		require.LessOrEqual(t, m.Events, 5000.0, "a window counts only the backlog's results")
		require.Positive(t, m.RatioToCeiling, w.Name)
		require.Positive(t, m.WorkerCPUus, w.Name)
		require.Positive(t, m.ServerCPUus, w.Name)
		require.Positive(t, m.AllocsPerEvent, "from the worker's go_memstats_mallocs_total: %s", w.Name)
		require.GreaterOrEqual(t, m.GCFraction, 0.0, w.Name)
		require.LessOrEqual(t, m.GCFraction, 1.0, w.Name)
		require.Positive(t, m.WorkerPeakMB, w.Name)
		require.Positive(t, m.ServerPeakMB, w.Name)
	}

	f := d.Fleet
	require.Positive(t, f.Steady)
	require.Positive(t, f.AfterKill)
	require.Positive(t, f.AfterAdd)
	require.Positive(t, f.Calls)
	require.LessOrEqual(t, f.Throttled, f.Calls)
	require.GreaterOrEqual(t, f.KillSettleS, 0.0)
	require.GreaterOrEqual(t, f.AddSettleS, 0.0)

	var table bytes.Buffer
	require.NoError(t, rep.table(&table))
	for _, want := range []string{"as deployed", "ceiling loop", "default", "GOGC=400", "fleet quota", "one killed"} {
		require.Contains(t, table.String(), want)
	}
}

func TestWorkerProfileComesFromPprof(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(pprof.Profile))
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "cpu.out")
	require.NoError(t, fetchProfile(t.Context(), strings.TrimPrefix(srv.URL, "http://"), 1, path))
	prof, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(prof, []byte{0x1f, 0x8b}), "a CPU profile is gzipped protobuf")
}

func TestWorkerProfileSaysWhenTheWorkerDoesNotAnswer(t *testing.T) {
	addr, err := freeAddr()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "cpu.out")
	err = fetchProfile(t.Context(), addr, 1, path)
	require.ErrorContains(t, err, "did not answer at WORKER_PPROF_ADDR")
	require.NoFileExists(t, path)
}

func TestVariantsAreEnvironmentSettings(t *testing.T) {
	vs, err := parseVariants("GOGC=200; GOGC=off GOMEMLIMIT=192MiB ;")
	require.NoError(t, err)
	require.Equal(t, []variant{
		{Name: "GOGC=200", Env: []string{"GOGC=200"}},
		{Name: "GOGC=off GOMEMLIMIT=192MiB", Env: []string{"GOGC=off", "GOMEMLIMIT=192MiB"}},
	}, vs)
	_, err = parseVariants("GOGC")
	require.Error(t, err)
}

func TestRunRejectsBadFlags(t *testing.T) {
	var stderr bytes.Buffer
	require.Equal(t, 2, run([]string{"--rate", "0"}, io.Discard, &stderr))
	require.Contains(t, stderr.String(), "--rate")
	require.Equal(t, 2, run([]string{"extra"}, io.Discard, &stderr))
	require.Equal(t, 2, run([]string{"--mode", "both"}, io.Discard, &stderr))
	require.Contains(t, stderr.String(), "--mode")
	require.Equal(t, 2, run([]string{"--variants", "GOGC"}, io.Discard, &stderr))
	require.Contains(t, stderr.String(), "NAME=VALUE")
	require.Equal(t, 2, run([]string{"--mode", "deployed", "--chart", "x.svg"}, io.Discard, &stderr))
}
