package memo

import "github.com/prometheus/client_golang/prometheus"

// metrics of the memo; the consumer counts the calls it saves.
type metrics struct {
	hits      prometheus.Counter
	misses    prometheus.Counter
	skips     prometheus.Counter
	available *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		hits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "worker_cache_hits_total", Help: "Result-cache lookups that found a stored prediction.",
		}),
		misses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "worker_cache_misses_total", Help: "Result-cache lookups that found nothing, the cache being unavailable included.",
		}),
		skips: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "worker_idempotent_skips_total", Help: "Idempotency lookups that found the output already stored.",
		}),
		available: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "worker_memo_available", Help: "1 while a memo KV bucket can be used, 0 while lookups miss and records are skipped.",
		}, []string{"bucket"}),
	}
	if reg != nil {
		reg.MustRegister(m.hits, m.misses, m.skips, m.available)
	}
	return m
}
