package quota

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// registerMetrics makes the Fleet's counters and registers them and its
// gauges on reg; with a nil reg the counters work unregistered.
func registerMetrics(reg prometheus.Registerer, f *Fleet) error {
	f.throttled = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "worker_quota_throttled_total",
		Help: "Throttling answers this replica was given (its instance label tells the replicas apart).",
	})
	f.late = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "worker_quota_late_slots_total",
		Help: "Call slots this replica let go because it woke too late for them (CPU starvation, a stopped process).",
	})
	if reg == nil {
		return nil
	}
	gauge := func(name, help string, value func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, value)
	}
	for _, c := range []prometheus.Collector{
		f.throttled,
		f.late,
		gauge("worker_quota_share_calls_per_second",
			"Calls per second this replica took from the group's quota over the last 5 s; in fallback, the local share it is held to.",
			f.share),
		gauge("worker_quota_members", "Live members of the quota group this replica last counted, itself included.",
			func() float64 { return float64(f.memberCount()) }),
		gauge("worker_quota_fallback", "1 while the quota bucket is unavailable and this replica holds to a local share, else 0.",
			func() float64 { return float64(f.fallbackState()) }),
	} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register quota metrics: %w", err)
		}
	}
	return nil
}
