package publisher

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/imgpredict/worker/schemas"
)

// ModelToken is replaced by the model id in Config.ResultsSubject.
const ModelToken = "{model}"

// Config says where outputs go.
type Config struct {
	ResultsSubject    string // may contain {model}
	DeadLetterSubject string
	MaskBucket        string // Object Store bucket for masks over MaskInlineMax
	MaskInlineMax     int    // bytes; larger masks go to MaskBucket
	// OriginalBucket holds the original bytes of dead letters that would
	// not fit in one message (an image event near the size limit).
	OriginalBucket string
}

// ErrInvalidConfig wraps every configuration error.
var ErrInvalidConfig = errors.New("invalid publisher config")

// SetDefaults fills unset fields.
func (c *Config) SetDefaults() {
	if c.ResultsSubject == "" {
		c.ResultsSubject = "predictions." + ModelToken
	}
	if c.DeadLetterSubject == "" {
		c.DeadLetterSubject = "deadletters.images"
	}
	if c.MaskBucket == "" {
		c.MaskBucket = "masks"
	}
	if c.OriginalBucket == "" {
		c.OriginalBucket = "deadletters"
	}
	if c.MaskInlineMax == 0 {
		c.MaskInlineMax = 64 << 10
	}
}

// Validate reports the first bad setting.
func (c Config) Validate() error {
	if strings.ContainsAny(c.DeadLetterSubject, "*> ") || c.DeadLetterSubject == "" {
		return fmt.Errorf("%w: WORKER_DEADLETTER_SUBJECT %q must be a literal subject", ErrInvalidConfig, c.DeadLetterSubject)
	}
	if s := strings.ReplaceAll(c.ResultsSubject, ModelToken, "m"); s == "" || strings.ContainsAny(s, "*> ") {
		return fmt.Errorf("%w: WORKER_RESULTS_SUBJECT %q must be a literal subject (with an optional {model})", ErrInvalidConfig, c.ResultsSubject)
	}
	if c.MaskInlineMax < 0 {
		return fmt.Errorf("%w: mask inline max must not be negative", ErrInvalidConfig)
	}
	return nil
}

// Publisher publishes results and dead letters. It is safe for concurrent use.
type Publisher struct {
	js  jetstream.JetStream
	cfg Config
	log zerolog.Logger

	mu     sync.Mutex
	stores map[string]jetstream.ObjectStore // buckets opened so far
}

// New returns a publisher on js.
func New(js jetstream.JetStream, cfg Config, log zerolog.Logger) (*Publisher, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Publisher{js: js, cfg: cfg, log: log.With().Str("component", "publisher").Logger()}, nil
}

// ResultSubject is the subject a result of the given model goes to.
func (p *Publisher) ResultSubject(modelID string) string {
	return strings.ReplaceAll(p.cfg.ResultsSubject, ModelToken, subjectToken(modelID))
}

// ResultMsgID is the Nats-Msg-Id of the result for an event and model: the
// same event asked of the same model always maps to the same id.
func ResultMsgID(eventID string, m schemas.Model) string {
	var stack [512]byte
	b := stack[:0]
	for _, s := range [...]string{eventID, m.UserID, m.AppID, m.ID, m.VersionID} {
		b = append(append(b, s...), 0)
	}
	sum := sha256.Sum256(b)
	var id [2 + 32]byte
	copy(id[:], "r-")
	hex.Encode(id[2:], sum[:16])
	return string(id[:])
}

// DeadLetterMsgID is the Nats-Msg-Id of the dead letter for an input message.
func DeadLetterMsgID(src schemas.Source) string {
	return fmt.Sprintf("d-%s-%d", src.Stream, src.Sequence)
}

// Result publishes r under msgID. Masks over the inline limit are stored in
// the mask bucket first (synchronously), then the result is published
// asynchronously: wait on the returned future before acknowledging input.
func (p *Publisher) Result(ctx context.Context, r *schemas.Result, msgID string) (jetstream.PubAckFuture, error) {
	if err := p.offloadMasks(ctx, r, msgID); err != nil {
		return nil, err
	}
	return p.publish(p.ResultSubject(r.Model.ID), r, msgID)
}

// DeadLetter publishes d under msgID asynchronously. When the original
// bytes would make the message too large for the server, they are stored
// in the original bucket first and referenced instead.
func (p *Publisher) DeadLetter(ctx context.Context, d *schemas.DeadLetter, msgID string) (jetstream.PubAckFuture, error) {
	// base64 grows the bytes by 4/3; 64 KiB covers the rest of the letter.
	if int64(len(d.Original))*4/3+64<<10 > p.js.Conn().MaxPayload() {
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
	return p.publish(p.cfg.DeadLetterSubject, d, msgID)
}

func (p *Publisher) publish(subject string, v any, msgID string) (jetstream.PubAckFuture, error) {
	data, err := encode(v)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", subject, err)
	}
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
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

func (p *Publisher) offloadMasks(ctx context.Context, r *schemas.Result, msgID string) error {
	for i := range r.Regions {
		m := r.Regions[i].Mask
		if m == nil || len(m.PNG) <= p.cfg.MaskInlineMax {
			continue
		}
		store, err := p.store(ctx, p.cfg.MaskBucket, "segmentation masks too large to inline in results")
		if err != nil {
			return err
		}
		name := fmt.Sprintf("%s/%d.png", msgID, i)
		if _, err := store.PutBytes(ctx, name, m.PNG); err != nil {
			return fmt.Errorf("store mask %s: %w", name, err)
		}
		r.Regions[i].Mask = &schemas.Mask{Object: &schemas.ObjectRef{Bucket: p.cfg.MaskBucket, Name: name}}
	}
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
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		store, err = p.js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket: bucket, Description: description, Storage: jetstream.FileStorage,
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
