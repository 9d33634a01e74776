package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// workerMetrics are the counters the bench reads from the worker's
// /metrics.
type workerMetrics struct {
	mallocs  float64 // heap objects allocated so far
	gcCPU    float64 // runtime/metrics estimate of the GC's CPU seconds
	totalCPU float64 // GOMAXPROCS × the seconds the process has run
	idleCPU  float64 // the part of totalCPU no goroutine or GC work used
	gcCycles float64
}

// Names of the series behind workerMetrics. The /cpu/classes ones exist
// because cmd/worker asks its Go collector for them.
const (
	seriesMallocs  = "go_memstats_mallocs_total"
	seriesGCCPU    = "go_cpu_classes_gc_total_cpu_seconds_total"
	seriesTotalCPU = "go_cpu_classes_total_cpu_seconds_total"
	seriesIdleCPU  = "go_cpu_classes_idle_cpu_seconds_total"
	seriesGCCycles = "go_gc_duration_seconds"
)

var httpClient = &http.Client{Timeout: 10 * time.Second}

// scrape reads the worker's metrics at addr (WORKER_HTTP_ADDR).
func scrape(ctx context.Context, addr string) (workerMetrics, error) {
	var m workerMetrics
	fams, err := families(ctx, addr)
	if err != nil {
		return m, err
	}
	for name, to := range map[string]*float64{
		seriesMallocs: &m.mallocs, seriesGCCPU: &m.gcCPU, seriesTotalCPU: &m.totalCPU, seriesIdleCPU: &m.idleCPU,
		seriesGCCycles: &m.gcCycles,
	} {
		if *to, err = seriesValue(fams, addr, name); err != nil {
			return m, err
		}
	}
	return m, nil
}

// gauge reads one series of the worker's metrics at addr.
func gauge(ctx context.Context, addr, name string) (float64, error) {
	fams, err := families(ctx, addr)
	if err != nil {
		return 0, err
	}
	return seriesValue(fams, addr, name)
}

// families fetches and parses the worker's /metrics at addr.
func families(ctx context.Context, addr string) (map[string]*dto.MetricFamily, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, fmt.Errorf("scrape: %w", err)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: %s", req.URL, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", req.URL, err)
	}
	return fams, nil
}

// seriesValue is the value of the first series of a family.
func seriesValue(fams map[string]*dto.MetricFamily, addr, name string) (float64, error) {
	f := fams[name]
	if f == nil || len(f.GetMetric()) == 0 {
		return 0, fmt.Errorf("scrape %s: no %s", addr, name)
	}
	return value(f.GetMetric()[0]), nil
}

// value is a counter's or gauge's value, or a summary's count.
func value(m *dto.Metric) float64 {
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetSummary() != nil:
		return float64(m.GetSummary().GetSampleCount())
	}
	return m.GetUntyped().GetValue()
}

// fetchProfile asks the worker's net/http/pprof at addr
// (WORKER_PPROF_ADDR) for a CPU profile of the next seconds and writes it
// to path.
func fetchProfile(ctx context.Context, addr string, seconds int, path string) error {
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, seconds)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	// The default client: the answer takes the profile's seconds.
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("the worker did not answer at WORKER_PPROF_ADDR (%w)", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the worker answered %s to %s", resp.Status, url)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("worker profile: %w", err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("worker profile: %w", err)
	}
	return f.Close()
}
