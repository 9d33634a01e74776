package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/imgpredict/worker/internal/streams"
)

const (
	// readBatch is how many dead letters one fetch asks for.
	readBatch = 1000
	// maxReasons and maxReasonLen bound the reasons counted, whatever a
	// stream holds; the rest are counted under OtherReason.
	maxReasons   = 64
	maxReasonLen = 64
	// idleThreshold lets the server remove a counting consumer that
	// Collect could not delete itself.
	idleThreshold = time.Minute
)

// Reasons of dead letters that name none of their own.
const (
	OtherReason       = "(other)"
	UndecodableReason = "(undecodable)"
)

// countOutputs counts the messages on filter stored since from, in the
// stream that captures it, and with maxRead > 0 reads up to maxRead of
// them to count their error.reason.
func countOutputs(ctx context.Context, js jetstream.JetStream, setting, filter string, from time.Time, maxRead int) (Outputs, error) {
	out := Outputs{Filter: filter}
	name, err := streams.Find(ctx, js, setting, []string{filter})
	if err != nil {
		return out, fmt.Errorf("status: stream of %s: %w", setting, err)
	}
	if name == "" {
		return out, nil
	}
	out.Stream = name
	cons, err := js.OrderedConsumer(ctx, name, jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{filter},
		DeliverPolicy:     jetstream.DeliverByStartTimePolicy,
		OptStartTime:      &from,
		InactiveThreshold: idleThreshold,
	})
	if err != nil {
		return out, fmt.Errorf("status: read %s: %w", name, err)
	}
	defer deleteConsumer(ctx, js, name, cons)
	// A new consumer's pending count is exactly the window's messages:
	// nothing needs to be read to count them.
	out.Messages = cons.CachedInfo().NumPending
	if maxRead == 0 || out.Messages == 0 {
		return out, nil
	}
	out.ByReason = map[string]uint64{}
	want := min(out.Messages, uint64(maxRead))
	for out.ReasonsRead < want {
		batch, err := cons.Fetch(int(min(want-out.ReasonsRead, readBatch)), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return out, fmt.Errorf("status: read %s: %w", name, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			out.count(reasonOf(m.Data()))
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return out, fmt.Errorf("status: read %s: %w", name, err)
		}
		if n == 0 {
			break // messages went away (age limit, purge) while they were read
		}
	}
	return out, nil
}

// count adds one dead letter of the given reason.
func (o *Outputs) count(reason string) {
	if _, ok := o.ByReason[reason]; !ok && (len(o.ByReason) >= maxReasons || len(reason) > maxReasonLen) {
		reason = OtherReason
	}
	o.ByReason[reason]++
	o.ReasonsRead++
}

// reasonOf decodes only a dead letter's error.reason.
func reasonOf(data []byte) string {
	var d struct {
		Error struct {
			Reason string `json:"reason"`
		} `json:"error"`
	}
	if err := json.Unmarshal(data, &d); err != nil || d.Error.Reason == "" {
		return UndecodableReason
	}
	return d.Error.Reason
}

// deleteConsumer removes a counting consumer at once rather than leave it
// to the server's idle timer; a failure only leaves that timer to it.
func deleteConsumer(ctx context.Context, js jetstream.JetStream, stream string, cons jetstream.Consumer) {
	info := cons.CachedInfo()
	if info == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	_ = js.DeleteConsumer(ctx, stream, info.Name)
}
