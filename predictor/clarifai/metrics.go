package clarifai

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics of the Clarifai client; they work unregistered when no
// Registerer is configured.
type metrics struct {
	calls          *prometheus.CounterVec
	latency        prometheus.Histogram
	batchSize      prometheus.Histogram
	retries        *prometheus.CounterVec
	throttlePauses prometheus.Counter
	limit          prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, rateLimit float64) (*metrics, error) {
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "worker_clarifai_calls_total",
			Help: "PostModelOutputs calls by outcome: the top-level Clarifai status code, or grpc_<code> for transport errors.",
		}, []string{"code"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "worker_clarifai_call_duration_seconds",
			Help:    "Duration of PostModelOutputs calls, excluding quota waits.",
			Buckets: prometheus.ExponentialBuckets(0.025, 2, 10),
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "worker_clarifai_batch_size",
			Help:    "Inputs per PostModelOutputs call.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 96, 127, 128},
		}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "worker_clarifai_retries_total",
			Help: "Calls repeated after a failure, by cause (the failure's reason).",
		}, []string{"cause"}),
		throttlePauses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "worker_clarifai_throttle_pauses_total",
			Help: "Throttling answers that paused all calls and lowered the rate.",
		}),
		limit: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "worker_quota_limit_calls_per_second",
			Help: "The Clarifai quota configured (CLARIFAI_RATE_LIMIT): calls per second for the fleet, or for this process in local quota mode.",
		}),
	}
	m.limit.Set(rateLimit)
	if reg == nil {
		return m, nil
	}
	var err error
	m.calls = register(reg, m.calls, &err)
	m.latency = register(reg, m.latency, &err)
	m.batchSize = register(reg, m.batchSize, &err)
	m.retries = register(reg, m.retries, &err)
	m.throttlePauses = register(reg, m.throttlePauses, &err)
	m.limit = register(reg, m.limit, &err)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// register adds c to reg, or returns the equal collector that another client
// of the same process registered first. The first error sticks in *errp.
func register[C prometheus.Collector](reg prometheus.Registerer, c C, errp *error) C {
	if *errp != nil {
		return c
	}
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	*errp = fmt.Errorf("register predictor metrics: %w", err)
	return c
}
