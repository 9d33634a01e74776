package emit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/imgpredict/worker/schemas"
)

// Stats counts what Run did.
type Stats struct {
	Published  int   // events sent to the server
	Acked      int   // events the stream acknowledged
	Duplicates int   // acknowledged events the stream already held (same id)
	Failed     int   // events not sent or not acknowledged, and bad .jsonl lines
	Bytes      int64 // event payloads plus object bytes uploaded
}

// Run publishes one event per image file, URL or .jsonl line of sources,
// waits for the stream's acknowledgements, and writes progress, problems
// and a final "published N events, N acknowledged" line to out. It returns
// the Stats also with an error; ErrIncomplete when some events failed.
func Run(ctx context.Context, js jetstream.JetStream, cfg Config, sources []string, out io.Writer) (Stats, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return Stats{}, err
	}
	items, total, err := plan(sources)
	if err != nil {
		return Stats{}, err
	}
	if total == 0 {
		return Stats{}, ErrNoEvents
	}
	_, err = js.StreamNameBySubject(ctx, cfg.Subject)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return Stats{}, fmt.Errorf("%w %q (the worker creates its stream when it starts)", ErrNoStream, cfg.Subject)
	}
	if err != nil {
		return Stats{}, fmt.Errorf("emit: look up the stream of %q: %w", cfg.Subject, err)
	}

	e := &emitter{js: js, cfg: cfg, progress: newProgress(out, total, cfg.ProgressEvery)}
	futures := make(chan pending, cfg.Window)
	acks := make(chan Stats, 1)
	go func() { acks <- e.collect(ctx, futures) }()

	err = e.emitAll(ctx, items, futures)
	close(futures)
	acked := <-acks
	e.progress.finish()

	st := e.stats
	st.Acked, st.Duplicates = acked.Acked, acked.Duplicates
	st.Failed += acked.Failed
	if st.Duplicates > 0 {
		fmt.Fprintf(out, "%d of them already in the stream (same id within its duplicate window)\n", st.Duplicates)
	}
	fmt.Fprintf(out, "published %d events, %d acknowledged\n", st.Published, st.Acked)
	if err == nil {
		err = ctx.Err()
	}
	if err == nil && st.Failed > 0 {
		err = fmt.Errorf("%w: %d failed", ErrIncomplete, st.Failed)
	}
	return st, err
}

// pending is a publish awaiting its PubAck.
type pending struct {
	id     string
	future jetstream.PubAckFuture
}

// emitter holds one Run's state. Only the publishing loop touches stats.
type emitter struct {
	js       jetstream.JetStream
	cfg      Config
	progress *progress
	objects  jetstream.ObjectStore // bound on first large image
	stats    Stats
}

// emitAll publishes every item; it stops only when ctx ends or the
// Object Store cannot be used. Per-item problems are counted and reported.
func (e *emitter) emitAll(ctx context.Context, items []item, futures chan<- pending) error {
	for _, it := range items {
		var err error
		switch {
		case it.jsonl:
			err = e.emitJSONL(ctx, it.path, futures)
		case it.url != "":
			err = e.emitURL(ctx, it.url, futures)
		default:
			err = e.emitFile(ctx, it.path, futures)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// failf counts one event as failed and says why.
func (e *emitter) failf(format string, args ...any) {
	e.stats.Failed++
	e.progress.notef(format, args...)
	e.progress.add(1)
}

func (e *emitter) emitURL(ctx context.Context, url string, futures chan<- pending) error {
	ev := schemas.Event{
		ID:       eventID(e.cfg.IDPrefix, []byte(url)),
		Image:    schemas.Image{URL: url},
		Model:    e.cfg.Model,
		Models:   e.cfg.Models,
		Metadata: sourceMetadata(url),
	}
	return e.send(ctx, url, ev, futures)
}

func (e *emitter) emitFile(ctx context.Context, path string, futures chan<- pending) error {
	data, err := readImage(path)
	if err != nil {
		e.failf("%s: %v", path, err)
		return nil
	}
	ev := schemas.Event{
		ID:       eventID(e.cfg.IDPrefix, data),
		Model:    e.cfg.Model,
		Models:   e.cfg.Models,
		Metadata: sourceMetadata(path),
	}
	if int64(len(data)) <= e.cfg.InlineMax && inlineFits(len(data), e.js.Conn().MaxPayload()) {
		ev.Image = inlineImage(data)
	} else {
		ref, err := e.putObject(ctx, ev.ID, path, data)
		if err != nil {
			return err
		}
		ev.Image = schemas.Image{Object: ref}
	}
	return e.send(ctx, path, ev, futures)
}

// readImage reads a file, refusing one larger than the worker accepts.
func readImage(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if info.Size() > schemas.MaxImageBytes {
		return nil, fmt.Errorf("%d bytes, more than the %d the worker accepts", info.Size(), schemas.MaxImageBytes)
	}
	return os.ReadFile(path)
}

// send encodes ev and publishes it; src names it in problem reports.
func (e *emitter) send(ctx context.Context, src string, ev schemas.Event, futures chan<- pending) error {
	payload, err := encodeEvent(ev)
	if err != nil {
		e.failf("%s: %v", src, err)
		return nil
	}
	return e.publish(ctx, ev.ID, payload, futures)
}

// emitJSONL publishes each line as it is, after the worker's decode check
// unless Raw.
func (e *emitter) emitJSONL(ctx context.Context, path string, futures chan<- pending) error {
	return eachLine(path, func(no int, line []byte) error {
		ev, err := schemas.DecodeEvent(line)
		switch {
		case err == nil:
		case e.cfg.Raw:
			ev.ID = string(line) // no trustworthy id: the line stands for itself
		default:
			e.failf("%s:%d: %v", path, no, err)
			return nil
		}
		return e.publish(ctx, ev.ID, bytes.Clone(line), futures) // the scanner reuses line
	})
}

// MsgID is the Nats-Msg-Id emit gives an event: a hash of its id, since
// an id may hold characters no header value should.
func MsgID(eventID string) string {
	sum := sha256.Sum256([]byte(eventID))
	return "e-" + hex.EncodeToString(sum[:16])
}

// publish sends one event and hands its future to the collector; the
// channel's capacity is the window of unacknowledged publishes.
func (e *emitter) publish(ctx context.Context, id string, payload []byte, futures chan<- pending) error {
	msg := &nats.Msg{Subject: e.cfg.Subject, Data: payload, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, MsgID(id))
	f, err := e.js.PublishMsgAsync(msg)
	if err != nil {
		e.failf("%s: publish: %v", id, err)
		return nil
	}
	e.stats.Published++
	e.stats.Bytes += int64(len(payload))
	select {
	case futures <- pending{id: id, future: f}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// collect awaits the PubAcks in publish order and counts them.
func (e *emitter) collect(ctx context.Context, futures <-chan pending) Stats {
	var st Stats
	timer := time.NewTimer(e.cfg.AckTimeout)
	defer timer.Stop()
	for p := range futures {
		timer.Reset(e.cfg.AckTimeout)
		select {
		case ack := <-p.future.Ok():
			st.Acked++
			if ack.Duplicate {
				st.Duplicates++
			}
		case err := <-p.future.Err():
			st.Failed++
			e.progress.notef("%s: not acknowledged: %v", p.id, err)
		case <-timer.C:
			st.Failed++
			e.progress.notef("%s: no acknowledgement within %s", p.id, e.cfg.AckTimeout)
		case <-ctx.Done():
			st.Failed++
		}
		e.progress.add(1)
	}
	return st
}
