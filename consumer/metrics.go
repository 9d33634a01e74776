package consumer

import "github.com/prometheus/client_golang/prometheus"

// metrics of the consumer; the predictor counts calls and retries itself.
type metrics struct {
	received       prometheus.Counter
	results        prometheus.Counter
	deadLetters    *prometheus.CounterVec
	redeliveries   *prometheus.CounterVec
	publishRetries prometheus.Counter
	saved          *prometheus.CounterVec
	paused         *prometheus.GaugeVec
	held           prometheus.GaugeFunc
	heldBytes      prometheus.GaugeFunc
	inflight       prometheus.Gauge
	latency        prometheus.Histogram
	consumerState  *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer, held, heldBytes func() float64) *metrics {
	m := &metrics{
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "worker_events_received_total", Help: "Input messages pulled from JetStream, redeliveries included.",
		}),
		results: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "worker_results_total", Help: "Results published and acknowledged by JetStream.",
		}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "worker_dead_letters_total", Help: "Dead letters published, by reason.",
		}, []string{"reason"}),
		redeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "worker_naks_total", Help: "Messages handed back for redelivery, by cause.",
		}, []string{"cause"}),
		publishRetries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "worker_publish_retries_total", Help: "Outputs published again after JetStream did not store them; the event is held meanwhile.",
		}),
		saved: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "worker_predictions_saved_total",
			Help: "Predictions not paid for, by cause: idempotent (output already stored), cache (same image seen), batch_duplicate (same image twice in one call).",
		}, []string{"cause"}),
		paused: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "worker_paused",
			Help: "1 while the worker is paused because the Clarifai account cannot make calls, by reason (auth_failed, quota_exceeded, account_issue).",
		}, []string{"reason"}),
		held: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "worker_held_messages", Help: "Input messages held: pending, in a call or awaiting a publish ack.",
		}, held),
		heldBytes: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "worker_held_bytes", Help: "Bytes of held messages and of images read from the Object Store.",
		}, heldBytes),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "worker_inflight_calls", Help: "Predict calls in flight.",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "worker_event_seconds",
			Help:    "Time from pulling a message to settling it (ack, term or nak).",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
		}),
		consumerState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "worker_consumer_messages",
			Help: "The durable consumer's state as the server reports it: pending (not yet delivered) and ack_pending; for autoscalers.",
		}, []string{"state"}),
	}
	if reg != nil {
		reg.MustRegister(m.received, m.results, m.deadLetters, m.redeliveries, m.publishRetries, m.saved, m.paused, m.held, m.heldBytes, m.inflight, m.latency, m.consumerState)
	}
	return m
}
