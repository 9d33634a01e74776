package tail

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/nats-io/nats.go/jetstream"
)

// message is one delivery from either stream.
type message struct {
	kind string
	data []byte
}

// Run prints results and dead letters to out as they arrive, until ctx
// ends (then it returns nil) or Config.Count messages were printed.
// Both streams must exist; the worker creates them when it starts.
func Run(ctx context.Context, js jetstream.JetStream, cfg Config, out io.Writer) error {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // also unblocks handlers waiting to hand over a message

	msgs := make(chan message)
	for _, src := range []struct{ kind, stream, subject string }{
		{kindResult, cfg.ResultsStream, cfg.ResultsSubject},
		{kindDead, cfg.DeadLetterStream, cfg.DeadLetterSubject},
	} {
		stop, err := follow(ctx, js, src.stream, src.subject, cfg.All, func(data []byte) {
			select {
			case msgs <- message{kind: src.kind, data: data}:
			case <-ctx.Done():
			}
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil // stopped while starting
			}
			return err
		}
		defer stop()
	}

	if !cfg.JSON {
		if err := writeRow(out, header); err != nil {
			return fmt.Errorf("tail: write: %w", err)
		}
	}
	for n := 0; cfg.Count == 0 || n < cfg.Count; n++ {
		var m message
		select {
		case <-ctx.Done():
			return nil
		case m = <-msgs:
		}
		if err := printMessage(out, m, cfg.JSON); err != nil {
			return fmt.Errorf("tail: write: %w", err)
		}
	}
	return nil
}

// follow starts an ordered consumer on stream, filtered by subject, and
// calls handle with each message's data.
func follow(ctx context.Context, js jetstream.JetStream, stream, subject string, all bool, handle func([]byte)) (stop func(), err error) {
	policy := jetstream.DeliverNewPolicy
	if all {
		policy = jetstream.DeliverAllPolicy
	}
	cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subject},
		DeliverPolicy:  policy,
	})
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("tail: stream %s (the worker creates it when it starts): %w", stream, err)
	}
	if err != nil {
		return nil, fmt.Errorf("tail: consumer on %s: %w", stream, err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) { handle(m.Data()) })
	if err != nil {
		return nil, fmt.Errorf("tail: consume %s: %w", stream, err)
	}
	return cc.Stop, nil
}

// printMessage writes a table row, or with asJSON the message itself on
// one line (compacted; a message that is not JSON becomes a JSON string).
func printMessage(out io.Writer, m message, asJSON bool) error {
	if !asJSON {
		return writeRow(out, decodeRow(m.kind, m.data))
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, m.data); err != nil {
		buf.Reset()
		quoted, _ := json.Marshal(string(m.data)) // a string always marshals
		buf.Write(quoted)
	}
	buf.WriteByte('\n')
	_, err := out.Write(buf.Bytes())
	return err
}
