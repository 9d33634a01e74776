package publisher

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/imgpredict/worker/internal/natstrace"
	"github.com/imgpredict/worker/internal/streams"
	"github.com/imgpredict/worker/internal/subjects"
	"github.com/imgpredict/worker/schemas"
)

// Publisher publishes results and dead letters. It is safe for concurrent
// use. It owns its outputs' contracts: subjects, message ids, the streams
// that store them, and the size of what it publishes.
type Publisher struct {
	nc  *nats.Conn
	js  jetstream.JetStream
	cfg Config
	log zerolog.Logger

	lost    atomic.Bool // a publish found no stream: look for the streams again
	setupMu sync.Mutex
	setupAt time.Time

	mu     sync.Mutex
	stores map[string]jetstream.ObjectStore // buckets opened so far
}

// New returns a publisher on nc. It publishes asynchronously with its own
// JetStream context: at most maxPending publishes awaiting their PubAck,
// each failing after ackTimeout without one.
func New(nc *nats.Conn, cfg Config, log zerolog.Logger) (*Publisher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Publisher{nc: nc, cfg: cfg, log: log.With().Str("component", "publisher").Logger()}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(4096),
		jetstream.WithPublishAsyncTimeout(15*time.Second),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, _ *nats.Msg, err error) {
			if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) {
				p.lost.Store(true)
			}
		}))
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	p.js = js
	return p, nil
}

// Setup finds the streams that capture the results and dead-letter
// subjects, whatever their names, and creates those that no stream
// captures when CreateStreams allows. It retries what may pass (broker
// down, leader election) until ctx ends; an error that no retry can cure
// wraps ErrInvalidConfig and names the setting to change.
func (p *Publisher) Setup(ctx context.Context) error {
	err := streams.Retry(ctx, p.log, "output streams", p.ensure)
	if streams.CannotWork(err) {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return err
}

// ensure finds or creates each output stream, once.
func (p *Publisher) ensure(ctx context.Context) error {
	results := p.cfg.ResultsFilter()
	for _, o := range []struct {
		setting, subject, name, description string
	}{
		{"WORKER_RESULTS_SUBJECT", results, p.cfg.ResultsStream, "predictions of the image worker"},
		{"WORKER_DEADLETTER_SUBJECT", p.cfg.DeadLetterSubject, p.cfg.DeadLetterStream, "events the image worker could not predict"},
	} {
		name, created, err := streams.Ensure(ctx, p.js, streams.Want{
			Setting: o.setting,
			Filters: []string{o.subject},
			Create: jetstream.StreamConfig{
				Name:        o.name,
				Description: o.description,
				Subjects:    []string{subjects.Widen(o.subject)},
				Storage:     jetstream.FileStorage,
				Replicas:    p.cfg.Replicas,
				Duplicates:  p.cfg.DuplicateWindow,
			},
			Allowed: p.cfg.CreateStreams,
		})
		if err != nil {
			return err
		}
		verb := "found"
		if created {
			verb = "created"
		}
		p.log.Info().Str("stream", name).Str("subject", o.subject).Msgf("%s the stream for %s", verb, o.setting)
	}
	return p.checkBuckets(ctx)
}

// checkBuckets makes sure, when the worker may not create them, that the
// Object Store buckets it writes to exist: a result with a large mask
// could otherwise never be stored. It keeps them open for their first use.
func (p *Publisher) checkBuckets(ctx context.Context) error {
	if p.cfg.CreateStreams {
		return nil // made when first needed
	}
	for _, b := range []struct{ setting, name string }{
		{"WORKER_MASK_BUCKET", p.cfg.MaskBucket}, {"the dead letters' originals bucket", p.cfg.OriginalBucket},
	} {
		_, err := p.store(ctx, b.name, "")
		switch {
		case errors.Is(err, jetstream.ErrBucketNotFound):
			return fmt.Errorf("%w: the Object Store bucket %s (%s) does not exist and WORKER_CREATE_STREAMS is false: create it (nats object add %s)",
				streams.ErrCannotWork, b.name, b.setting, b.name)
		case err != nil:
			return err
		}
	}
	return nil
}

// recover looks for the output streams again, at most once a second,
// after a publish found none (an operator deleted or recreated one).
func (p *Publisher) recover(ctx context.Context) {
	if !p.lost.Load() {
		return
	}
	p.setupMu.Lock()
	defer p.setupMu.Unlock()
	if !p.lost.Load() || time.Since(p.setupAt) < time.Second {
		return
	}
	p.setupAt = time.Now()
	if err := p.ensure(ctx); err != nil {
		p.log.Warn().Err(err).Msg("output streams")
		return
	}
	p.lost.Store(false)
}

// resultSubject is the subject of a result of the model asked.
func (p *Publisher) resultSubject(modelID string) string {
	return strings.ReplaceAll(p.cfg.ResultsSubject, ModelToken, subjectToken(modelID))
}

// resultMsgID is the Nats-Msg-Id of the result for an event and the
// model asked: the same event asked of the same model always maps to the
// same id, and no id from an event appears in it raw.
func resultMsgID(eventID string, m schemas.Model) string {
	var stack [512]byte
	b := stack[:0]
	for _, s := range [...]string{eventID, m.UserID, m.AppID, m.ID, m.VersionID} {
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(append(b, ':'), s...)
	}
	sum := sha256.Sum256(b)
	var id [2 + 32]byte
	copy(id[:], "r-")
	hex.Encode(id[2:], sum[:16])
	return string(id[:])
}

// deadLetterMsgID is the Nats-Msg-Id of the dead letter for an input
// message (and, for an event that asks several models, the model).
func deadLetterMsgID(d *schemas.DeadLetter) string {
	id := fmt.Sprintf("d-%s-%d", d.Source.Stream, d.Source.Sequence)
	if m := d.Model; m != nil {
		id += "-" + resultMsgID("", *m)[2:18]
	}
	return id
}

// TooLargeError says a result cannot be stored even with every mask moved
// to the Object Store: it is larger than the server's max_payload.
type TooLargeError struct {
	Size, Max int
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("the result has %d bytes without its masks, more than the server's max_payload allows (%d)", e.Size, e.Max)
}

// Reason is the dead letter's reason word for such a result.
func (e *TooLargeError) Reason() string { return schemas.ReasonResultTooLarge }

// headerRoom is kept free of max_payload for the message's headers.
const headerRoom = 1 << 10

// Result publishes r, the answer of the model asked. Masks over the
// inline limit are stored in the mask bucket first (synchronously); when
// the result would still exceed the server's max_payload, inline masks
// follow, largest first, until it fits, else it fails with a
// *TooLargeError. Then the result is published asynchronously: wait on
// the returned future before acknowledging the input.
func (p *Publisher) Result(ctx context.Context, r *schemas.Result, asked schemas.Model) (jetstream.PubAckFuture, error) {
	p.recover(ctx)
	msgID := resultMsgID(r.EventID, asked)
	for i := range r.Regions {
		if m := r.Regions[i].Mask; m != nil && len(m.PNG) > p.cfg.MaskInlineMax {
			if err := p.offloadMask(ctx, r, i, msgID); err != nil {
				return nil, err
			}
		}
	}
	data, err := encode(r)
	if err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	limit := int(p.nc.MaxPayload()) - headerRoom
	for len(data) > limit {
		i := largestInlineMask(r)
		if i < 0 {
			return nil, &TooLargeError{Size: len(data), Max: limit}
		}
		if err := p.offloadMask(ctx, r, i, msgID); err != nil {
			return nil, err
		}
		if data, err = encode(r); err != nil {
			return nil, fmt.Errorf("encode result: %w", err)
		}
	}
	return p.publish(ctx, p.resultSubject(asked.ID), data, msgID)
}

func largestInlineMask(r *schemas.Result) int {
	best := -1
	for i, rg := range r.Regions {
		if rg.Mask != nil && len(rg.Mask.PNG) > 0 && (best < 0 || len(rg.Mask.PNG) > len(r.Regions[best].Mask.PNG)) {
			best = i
		}
	}
	return best
}

// DeadLetter publishes d asynchronously. When the original bytes would
// make the message too large for the server, they are stored in the
// original bucket first and referenced instead.
func (p *Publisher) DeadLetter(ctx context.Context, d *schemas.DeadLetter) (jetstream.PubAckFuture, error) {
	p.recover(ctx)
	msgID := deadLetterMsgID(d)
	// base64 grows the bytes by 4/3; 64 KiB covers the rest of the letter.
	if int64(len(d.Original))*4/3+64<<10 > p.nc.MaxPayload() {
		store, err := p.store(ctx, p.cfg.OriginalBucket, "original bytes of dead letters too large to inline")
		if err != nil {
			return nil, err
		}
		if _, err := store.PutBytes(ctx, msgID, d.Original); err != nil {
			return nil, fmt.Errorf("store original %s: %w", msgID, err)
		}
		d.Original = nil
		d.OriginalObject = &schemas.ObjectRef{Bucket: p.cfg.OriginalBucket, Name: msgID}
	}
	data, err := encode(d)
	if err != nil {
		return nil, fmt.Errorf("encode dead letter: %w", err)
	}
	return p.publish(ctx, p.cfg.DeadLetterSubject, data, msgID)
}

// publish sends data; it carries the trace context of ctx (traceparent),
// so that indexers can continue the event's trace.
func (p *Publisher) publish(ctx context.Context, subject string, data []byte, msgID string) (jetstream.PubAckFuture, error) {
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	natstrace.Inject(ctx, msg.Header)
	f, err := p.js.PublishMsgAsync(msg, jetstream.WithMsgID(msgID))
	if err != nil {
		return nil, fmt.Errorf("publish %s: %w", subject, err)
	}
	return f, nil
}

// encode calls a type's own MarshalJSON directly: json.Marshal would
// validate and compact its output again, about a tenth of the worker's
// CPU per event.
func encode(v any) ([]byte, error) {
	if m, ok := v.(json.Marshaler); ok {
		return m.MarshalJSON()
	}
	return json.Marshal(v)
}

// offloadMask stores the mask of region i in the mask bucket and puts a
// reference in its place.
func (p *Publisher) offloadMask(ctx context.Context, r *schemas.Result, i int, msgID string) error {
	store, err := p.store(ctx, p.cfg.MaskBucket, "segmentation masks too large to inline in results")
	if err != nil {
		return err
	}
	name := fmt.Sprintf("%s/%d.png", msgID, i)
	if _, err := store.PutBytes(ctx, name, r.Regions[i].Mask.PNG); err != nil {
		return fmt.Errorf("store mask %s: %w", name, err)
	}
	r.Regions[i].Mask = &schemas.Mask{Object: &schemas.ObjectRef{Bucket: p.cfg.MaskBucket, Name: name}}
	return nil
}

// store opens a bucket once. An existing bucket is used as it is; only a
// missing one is created.
func (p *Publisher) store(ctx context.Context, bucket, description string) (jetstream.ObjectStore, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.stores[bucket]; ok {
		return s, nil
	}
	store, err := p.js.ObjectStore(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) && p.cfg.CreateStreams {
		store, err = p.js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket: bucket, Description: description, Storage: jetstream.FileStorage, Replicas: p.cfg.Replicas,
		})
	}
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", bucket, err)
	}
	if p.stores == nil {
		p.stores = make(map[string]jetstream.ObjectStore)
	}
	p.stores[bucket] = store
	return store, nil
}

// subjectToken makes s safe as one subject token.
func subjectToken(s string) string {
	if s == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', '*', '>', ' ', '\t', '\n', '\r':
			return '_'
		}
		return r
	}, s)
}
