package natstrace

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"
)

func TestTraceContextCrossesHeaders(t *testing.T) {
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, name := range []string{"traceparent", "Traceparent", "TRACEPARENT"} {
		ctx := Extract(context.Background(), nats.Header{name: {parent}, "tracestate": {"vendor=x"}})
		sc := trace.SpanContextFromContext(ctx)
		require.True(t, sc.IsValid(), name)
		require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", sc.TraceID().String())

		out := nats.Header{}
		Inject(ctx, out)
		require.Equal(t, parent, out.Get("traceparent"))
		require.Equal(t, "vendor=x", out.Get("tracestate"))
	}
	out := nats.Header{}
	Inject(context.Background(), out)
	require.Empty(t, out, "no span, no header")
}
