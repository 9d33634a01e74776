package status

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/imgpredict/worker/internal/streams"
)

// Report is what Collect found. Its JSON form is what `worker status
// --json` prints.
type Report struct {
	Input       Stream   `json:"input"`
	Consumer    Consumer `json:"consumer"`
	Window      Window   `json:"window"`
	Results     Outputs  `json:"results"`
	DeadLetters Outputs  `json:"dead_letters"`
}

// Stream is the input stream.
type Stream struct {
	Name     string   `json:"name"`
	Subjects []string `json:"subjects"`
	Messages uint64   `json:"messages"`
	Bytes    uint64   `json:"bytes"`
}

// Consumer is the durable consumer the worker replicas share.
type Consumer struct {
	Name         string `json:"name"`
	Pending      uint64 `json:"pending"`     // not yet delivered
	AckPending   int    `json:"ack_pending"` // delivered, not yet acked
	Redelivered  int    `json:"redelivered"` // delivered more than once, not yet acked
	WaitingPulls int    `json:"waiting_pulls"`
	Paused       bool   `json:"paused"`
	// PausedUntil is when a paused consumer resumes by itself.
	PausedUntil *time.Time `json:"paused_until,omitempty"`
}

// Window is the time over which outputs are counted.
type Window struct {
	Since string    `json:"since"`
	From  time.Time `json:"from"`
}

// Outputs are the results or dead letters stored in the window.
type Outputs struct {
	// Stream is the stream that captures Filter; empty when none does.
	Stream   string `json:"stream"`
	Filter   string `json:"filter"`
	Messages uint64 `json:"messages"`
	// ByReason counts dead letters by error.reason (dead letters only).
	ByReason map[string]uint64 `json:"by_reason,omitempty"`
	// ReasonsRead is how many dead letters ByReason counts: fewer than
	// Messages when there were more than MaxRead.
	ReasonsRead uint64 `json:"reasons_read,omitempty"`
}

// Collect looks up the input stream and the durable consumer, and counts
// the outputs stored in the last cfg.Since. It returns ErrNoConsumer
// when the consumer does not exist, and an error when no stream captures
// the input subjects; a missing output stream counts nothing.
func Collect(ctx context.Context, js jetstream.JetStream, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Report{}
	if err := r.readInput(ctx, js, cfg); err != nil {
		return nil, err
	}
	from := time.Now().Add(-cfg.Since)
	r.Window = Window{Since: cfg.Since.String(), From: from.UTC()}
	var err error
	if r.Results, err = countOutputs(ctx, js, "WORKER_RESULTS_SUBJECT", cfg.ResultsFilter, from, 0); err != nil {
		return nil, err
	}
	if r.DeadLetters, err = countOutputs(ctx, js, "WORKER_DEADLETTER_SUBJECT", cfg.DeadLetterFilter, from, cfg.MaxRead); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Report) readInput(ctx context.Context, js jetstream.JetStream, cfg Config) error {
	name, err := streams.Find(ctx, js, "WORKER_SUBJECTS", cfg.Subjects)
	if err != nil {
		return fmt.Errorf("status: input stream: %w", err)
	}
	if name == "" {
		return fmt.Errorf("status: no stream captures WORKER_SUBJECTS %v (the worker creates it when it starts)", cfg.Subjects)
	}
	s, err := js.Stream(ctx, name)
	if err != nil {
		return fmt.Errorf("status: stream %s: %w", name, err)
	}
	si := s.CachedInfo()
	r.Input = Stream{Name: name, Subjects: si.Config.Subjects, Messages: si.State.Msgs, Bytes: si.State.Bytes}

	c, err := js.Consumer(ctx, name, cfg.Durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("%w: no consumer %s on stream %s (WORKER_CONSUMER; the worker creates it when it starts)", ErrNoConsumer, cfg.Durable, name)
	}
	if err != nil {
		return fmt.Errorf("status: consumer %s on %s: %w", cfg.Durable, name, err)
	}
	ci := c.CachedInfo()
	r.Consumer = Consumer{
		Name:         ci.Name,
		Pending:      ci.NumPending,
		AckPending:   ci.NumAckPending,
		Redelivered:  ci.NumRedelivered,
		WaitingPulls: ci.NumWaiting,
		Paused:       ci.Paused,
	}
	if ci.Paused {
		until := ci.TimeStamp.Add(ci.PauseRemaining).UTC()
		if ci.Config.PauseUntil != nil {
			until = ci.Config.PauseUntil.UTC()
		}
		r.Consumer.PausedUntil = &until
	}
	return nil
}
