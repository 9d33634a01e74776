// Package natstrace carries W3C trace context (traceparent, tracestate)
// in NATS message headers, so that a trace crosses JetStream: from the
// producer to the worker, and from the worker to the indexers.
package natstrace

import (
	"context"
	"strings"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/propagation"
)

var w3c = propagation.TraceContext{}

// Extract returns ctx with the remote span context the headers carry.
func Extract(ctx context.Context, h nats.Header) context.Context {
	if len(h) == 0 {
		return ctx
	}
	return w3c.Extract(ctx, carrier(h))
}

// Inject writes the span context of ctx into h; a ctx without a recording
// or remote span writes nothing.
func Inject(ctx context.Context, h nats.Header) {
	w3c.Inject(ctx, carrier(h))
}

// carrier reads header names as HTTP does, in any case: producers write
// traceparent in whatever case their client uses.
type carrier nats.Header

func (c carrier) Get(key string) string {
	if v, ok := c[key]; ok && len(v) > 0 {
		return v[0]
	}
	for k, v := range c {
		if strings.EqualFold(k, key) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func (c carrier) Set(key, value string) { c[key] = []string{value} }

func (c carrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}
