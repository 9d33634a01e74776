package emit

import (
	"fmt"
	"strings"
	"time"

	"github.com/imgpredict/worker/schemas"
)

// Defaults of Config.
const (
	DefaultSubject       = "images.upload"
	DefaultBucket        = "images"
	DefaultInlineMax     = 512 << 10
	DefaultWindow        = 256
	DefaultAckTimeout    = 30 * time.Second
	DefaultProgressEvery = 2 * time.Second
)

// maxIDPrefix leaves room for the hash within schemas.MaxIDLength.
const maxIDPrefix = 200

// Config tunes Run. Zero values take the defaults.
type Config struct {
	// Subject the events are published on.
	Subject string
	// Bucket is the Object Store bucket for large images; created if missing.
	Bucket string
	// InlineMax is the largest image, in bytes, sent inline as base64.
	InlineMax int64
	// Model, when set, is written into every event built from a file or
	// URL. Events from .jsonl files are published as they are.
	Model *schemas.Model
	// Models, when set instead, asks every such event for several models.
	Models []schemas.ModelSpec
	// IDPrefix is put in front of every generated event id.
	IDPrefix string
	// Window is how many publishes may await their PubAck at once.
	Window int
	// AckTimeout bounds the wait for one PubAck.
	AckTimeout time.Duration
	// ProgressEvery is the interval of progress lines when the output
	// is not a terminal.
	ProgressEvery time.Duration
	// Raw publishes the lines of .jsonl files as they are, even those the
	// worker will reject (to test its dead letters); by default such a
	// line is refused with the reason the worker would give.
	Raw bool
}

func (c *Config) setDefaults() {
	if c.Subject == "" {
		c.Subject = DefaultSubject
	}
	if c.Bucket == "" {
		c.Bucket = DefaultBucket
	}
	if c.InlineMax == 0 {
		c.InlineMax = DefaultInlineMax
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.AckTimeout == 0 {
		c.AckTimeout = DefaultAckTimeout
	}
	if c.ProgressEvery == 0 {
		c.ProgressEvery = DefaultProgressEvery
	}
}

// Validate checks the settings; zero values stand for their defaults.
func (c Config) Validate() error {
	c.setDefaults()
	switch {
	case strings.ContainsAny(c.Subject, " \t\r\n*>"):
		return fmt.Errorf("%w: Subject %q must be a plain subject without wildcards", ErrInvalidConfig, c.Subject)
	case c.InlineMax < 0:
		return fmt.Errorf("%w: InlineMax %d is negative", ErrInvalidConfig, c.InlineMax)
	case c.Window < 0:
		return fmt.Errorf("%w: Window %d is negative", ErrInvalidConfig, c.Window)
	case c.AckTimeout < 0:
		return fmt.Errorf("%w: AckTimeout %s is negative", ErrInvalidConfig, c.AckTimeout)
	case c.ProgressEvery < 0:
		return fmt.Errorf("%w: ProgressEvery %s is negative", ErrInvalidConfig, c.ProgressEvery)
	case len(c.IDPrefix) > maxIDPrefix:
		return fmt.Errorf("%w: IDPrefix is longer than %d bytes", ErrInvalidConfig, maxIDPrefix)
	}
	for _, ch := range []byte(c.Bucket) {
		if !('a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || ch == '_' || ch == '-') {
			return fmt.Errorf("%w: Bucket %q may hold only letters, digits, '_' and '-'", ErrInvalidConfig, c.Bucket)
		}
	}
	return nil
}
