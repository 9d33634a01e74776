package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/schemas"
)

// throughput is one run that drained a backlog.
type throughput struct {
	Events         int     `json:"events"`
	Seconds        float64 `json:"seconds"`
	EventsPerS     float64 `json:"events_per_s"`
	CPUMicrosEvent float64 `json:"cpu_us_per_event"`
	AllocsPerEvent float64 `json:"allocs_per_event"`
	RatioToCeiling float64 `json:"ratio_to_ceiling,omitempty"`
}

// resultFor is the result the worker would publish for an event.
func resultFor(ev schemas.Event, meta *jetstream.MsgMetadata, subject string, p *predictor.Prediction) *schemas.Result {
	cs := make([]schemas.Concept, len(p.Concepts))
	for i, c := range p.Concepts {
		cs[i] = schemas.Concept{ID: c.ID, Name: c.Name, Value: c.Value}
	}
	return &schemas.Result{
		SchemaVersion: schemas.Version,
		EventID:       ev.ID,
		Model:         schemas.Model{ID: p.Model.ID, UserID: p.Model.UserID, AppID: p.Model.AppID},
		Status:        schemas.Status{Code: p.Status.Code, Description: p.Status.Description, ReqID: p.Status.ReqID},
		Concepts:      cs,
		Regions:       []schemas.Region{},
		Metadata:      ev.Metadata,
		Source:        schemas.Source{Stream: meta.Stream, Sequence: meta.Sequence.Stream, Subject: subject, Deliveries: meta.NumDelivered},
		PredictedAt:   time.Now().UTC(),
	}
}

var benchModel = predictor.Model{UserID: "clarifai", AppID: "main", ID: "general-image-recognition"}

// resultSized is a result as large as the worker's for a typical event.
func resultSized() ([]byte, error) {
	ev := schemas.Event{ID: "bench-123456"}
	meta := &jetstream.MsgMetadata{Stream: inputStream, NumDelivered: 1}
	meta.Sequence.Stream = 123456
	return json.Marshal(resultFor(ev, meta, "images.bench.0", prediction(benchModel)))
}

// ceiling drains n events doing per event what the worker does minus the
// work: pull in batches, publish a result-sized message with a
// Nats-Msg-Id and an async PubAck, and ack the event once its PubAck is in.
// Pulling goes on while PubAcks are awaited, as in the worker.
func (b *bench) ceiling(ctx context.Context, n int) (throughput, error) {
	if err := b.fresh(ctx); err != nil {
		return throughput{}, err
	}
	if err := b.publishBacklog(ctx, "ceiling", n, ""); err != nil {
		return throughput{}, err
	}
	body, err := resultSized()
	if err != nil {
		return throughput{}, fmt.Errorf("result: %w", err)
	}
	return b.ceilingLoop(ctx, n, body)
}

// ceilingLoop drains a backlog of n stored events, publishing body as the
// result of each.
func (b *bench) ceilingLoop(ctx context.Context, n int, body []byte) (throughput, error) {
	cons, err := b.sut.js.CreateOrUpdateConsumer(ctx, inputStream, jetstream.ConsumerConfig{
		Durable: "ceiling", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 20000,
	})
	if err != nil {
		return throughput{}, fmt.Errorf("ceiling consumer: %w", err)
	}

	type pending struct {
		msg jetstream.Msg
		ack jetstream.PubAckFuture
	}
	// As many in flight as the worker holds at most by default (128 × 10).
	inflight := make(chan pending, 1280)
	acked := make(chan error, 1)
	go func() {
		var first error
		for p := range inflight {
			select {
			case <-p.ack.Ok():
				if err := p.msg.Ack(); err != nil && first == nil {
					first = err
				}
			case err := <-p.ack.Err():
				if first == nil {
					first = err
				}
			}
		}
		acked <- first
	}()

	// Pulling, publishing and acking run in their own goroutines, as the
	// worker's fetch loop, call goroutines and settling do.
	pulled := make(chan jetstream.Msg, 256)
	published := make(chan error, 1)
	go func() {
		var err error
		seq := 0
		for msg := range pulled {
			if err != nil {
				continue
			}
			out := nats.NewMsg(resultSubject)
			out.Data = body
			out.Header.Set(jetstream.MsgIDHeader, "c-"+strconv.Itoa(seq))
			seq++
			var f jetstream.PubAckFuture
			if f, err = b.sut.js.PublishMsgAsync(out); err == nil {
				inflight <- pending{msg: msg, ack: f}
			}
		}
		close(inflight)
		published <- err
	}()

	start, c0 := time.Now(), costNow()
	for got := 0; got < n; {
		if err = ctx.Err(); err != nil {
			break
		}
		var batch jetstream.MessageBatch
		// Never ask for more than is left: the last pull would wait out
		// its expiry for messages that never come.
		if batch, err = cons.Fetch(min(256, n-got), jetstream.FetchMaxWait(time.Second)); err != nil {
			break
		}
		for msg := range batch.Messages() {
			pulled <- msg
			got++
		}
	}
	close(pulled)
	err = errors.Join(err, <-published)
	if ackErr := <-acked; err == nil {
		err = ackErr
	}
	if err != nil {
		return throughput{}, fmt.Errorf("ceiling loop: %w", err)
	}
	return measured(n, start, c0), nil
}

func measured(n int, start time.Time, c0 cost) throughput {
	secs := time.Since(start).Seconds()
	cpu, allocs := c0.perEvent(n)
	return throughput{Events: n, Seconds: secs, EventsPerS: float64(n) / secs, CPUMicrosEvent: cpu, AllocsPerEvent: allocs}
}
