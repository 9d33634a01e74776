package consumer

import (
	"context"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/imgpredict/worker/internal/natstrace"
	"github.com/imgpredict/worker/predictor"
)

// WithTracer makes the consumer trace every event: one span from pull to
// ack (continuing a traceparent the message carries), with children for
// the wait for a batch and for each publish, and one span per predict
// call, shared by its batch and linked to every event's span. Outputs
// carry traceparent, so indexers continue the trace. Without it nothing
// is traced and tracing costs nothing.
func WithTracer(tp trace.TracerProvider) Option {
	return func(c *Consumer) { c.tracer = tp.Tracer("github.com/imgpredict/worker/consumer") }
}

// traceEvent starts m's span, as a child of the span its headers name.
func (c *Consumer) traceEvent(m *message) {
	if c.tracer == nil {
		return
	}
	parent := natstrace.Extract(context.Background(), m.msg.Headers())
	_, m.span = c.tracer.Start(parent, "event", trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithTimestamp(m.arrived), trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.destination.name", m.msg.Subject()),
			attribute.String("worker.stream", m.meta.Stream),
			attribute.Int64("worker.stream_sequence", int64(m.meta.Sequence.Stream)),
			attribute.Int64("worker.deliveries", int64(m.meta.NumDelivered)),
		))
}

// endEvent ends m's span with how the message was settled.
func endEvent(m *message, s settlement) {
	if m.span == nil {
		return
	}
	m.span.SetAttributes(attribute.String("worker.settlement", s.name()))
	if s.kind == termIt {
		m.span.SetStatus(codes.Error, s.reason)
	}
	m.span.End()
}

func (s settlement) name() string {
	switch s.kind {
	case ackIt:
		return "ack"
	case termIt:
		return "term"
	case nakLater:
		return "nak_delay"
	}
	return "nak"
}

// child starts a span under m's, or returns nil when m is not traced.
func (c *Consumer) child(m *message, name string, attrs ...attribute.KeyValue) trace.Span {
	if m.span == nil {
		return nil
	}
	_, span := c.tracer.Start(trace.ContextWithSpan(context.Background(), m.span), name, trace.WithAttributes(attrs...))
	return span
}

// endWaits ends each task's wait for its batch: the batch is out.
func endWaits(batch []*task) {
	for _, t := range batch {
		if t.wait != nil {
			t.wait.End()
			t.wait = nil
		}
	}
}

// tracePredict starts the span of a call, linked both ways with the spans
// of the events in it.
func (c *Consumer) tracePredict(ctx context.Context, batch []*task, req predictor.Request) (context.Context, trace.Span) {
	if c.tracer == nil {
		return ctx, nil
	}
	links := make([]trace.Link, 0, len(batch))
	for _, t := range batch {
		if t.m.span != nil {
			links = append(links, trace.Link{SpanContext: t.m.span.SpanContext()})
		}
	}
	ctx, span := c.tracer.Start(ctx, "predict", trace.WithSpanKind(trace.SpanKindClient), trace.WithLinks(links...),
		trace.WithAttributes(
			attribute.Int("worker.batch_size", len(req.Inputs)),
			attribute.String("worker.model", req.Model.UserID+"/"+req.Model.AppID+"/"+req.Model.ID),
			attribute.String("worker.model_version", req.Model.VersionID),
		))
	for _, t := range batch {
		if t.m.span != nil {
			t.m.span.AddLink(trace.Link{SpanContext: span.SpanContext()})
		}
	}
	return ctx, span
}

// endPredict records the call's request id and outcome on its span.
func endPredict(span trace.Span, outs []predictor.Outcome) {
	if span == nil {
		return
	}
	failed, reqID := 0, ""
	for _, o := range outs {
		switch {
		case o.Prediction != nil:
			reqID = o.Prediction.Status.ReqID
		default:
			failed++
		}
	}
	outcome := "ok"
	switch {
	case failed == len(outs):
		outcome = "failed"
		span.SetStatus(codes.Error, "no input predicted")
	case failed > 0:
		outcome = "partial"
	}
	span.SetAttributes(attribute.String("worker.req_id", reqID), attribute.String("worker.outcome", outcome),
		attribute.String("worker.failed_inputs", strconv.Itoa(failed)))
	span.End()
}
