package consumer

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/imgpredict/worker/internal/natstest"
	"github.com/imgpredict/worker/publisher"
)

// TestTraceFollowsAnEvent: the worker continues the producer's trace with
// one span per event from pull to ack, children for the batch wait and
// the publish, a predict span linked both ways with the events in its
// call, and a traceparent on the result that names the publish span.
func TestTraceFollowsAnEvent(t *testing.T) {
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv.ClientURL())
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	startWorkerWith(t, js, &fakePredictor{}, testConfig(), publisher.DefaultConfig(), WithTracer(tp))

	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	msg := nats.NewMsg("images.upload")
	msg.Data = event("traced", nil)
	msg.Header.Set("traceparent", "00-"+traceID+"-"+parentID+"-01")
	_, err := js.PublishMsg(t.Context(), msg)
	require.NoError(t, err)
	waitOutputs(t, js, 1, 10*time.Second)
	require.Eventually(t, func() bool { return consumerIdle(t, js) }, 10*time.Second, 20*time.Millisecond)

	s, err := js.Stream(t.Context(), "PREDICTIONS")
	require.NoError(t, err)
	out, err := s.GetLastMsgForSubject(t.Context(), "predictions.general-image-recognition")
	require.NoError(t, err)

	byName := map[string]tracetest.SpanStub{}
	require.Eventually(t, func() bool {
		for _, s := range spans.GetSpans() {
			byName[s.Name] = s
		}
		return len(byName) == 4
	}, 5*time.Second, 10*time.Millisecond, "spans: %v", byName)
	ev, wait, pred, pub := byName["event"], byName["batch wait"], byName["predict"], byName["publish"]
	require.Equal(t, traceID, ev.SpanContext.TraceID().String(), "the producer's trace goes on")
	require.Equal(t, parentID, ev.Parent.SpanID().String())
	require.Contains(t, ev.Attributes, attribute.String("worker.event_id", "traced"))
	require.Contains(t, ev.Attributes, attribute.String("worker.settlement", "ack"))
	for _, child := range []tracetest.SpanStub{wait, pub} {
		require.Equal(t, ev.SpanContext.SpanID(), child.Parent.SpanID(), child.Name)
	}
	require.Equal(t, ev.SpanContext, pred.Links[0].SpanContext, "the call links its events")
	require.Equal(t, pred.SpanContext, ev.Links[0].SpanContext, "the event links its call")
	require.Contains(t, pred.Attributes, attribute.Int("worker.batch_size", 1))
	require.Contains(t, pred.Attributes, attribute.String("worker.req_id", "fake"))
	require.Equal(t, "00-"+traceID+"-"+pub.SpanContext.SpanID().String()+"-01", out.Header.Get("traceparent"),
		"indexers continue the trace from the publish")
}
