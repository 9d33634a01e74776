package consumer

import (
	"errors"
	"fmt"
	"time"

	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/schemas"
)

// ErrInvalidConfig wraps every configuration error, and every error that
// says the worker can never run as configured (for example, no stream
// captures the input subjects and creating one is off).
var ErrInvalidConfig = errors.New("invalid consumer config")

// Config tunes pulling, batching and acknowledgement. Start from
// DefaultConfig: a zero field is not replaced by its default. Each
// field's comment names its environment variable.
type Config struct {
	Stream        string   // WORKER_STREAM: name of the input stream when the worker creates it
	Subjects      []string // WORKER_SUBJECTS: input subjects; also the consumer's filter
	Durable       string   // WORKER_CONSUMER: durable pull consumer shared by all replicas
	CreateStreams bool     // WORKER_CREATE_STREAMS: create the input stream when none captures Subjects
	Replicas      int      // WORKER_STREAM_REPLICAS: replicas of a stream the worker creates

	BatchSize       int           // WORKER_BATCH_SIZE: max inputs per predict call, 1-128
	BatchWait       time.Duration // WORKER_BATCH_WAIT: max wait of the oldest pending event
	MaxInflight     int           // WORKER_MAX_INFLIGHT: concurrent predict calls
	MaxPending      int           // WORKER_MAX_PENDING: messages held at once; 0 = BatchSize × (MaxInflight + 2)
	MaxPendingBytes int64         // WORKER_MAX_PENDING_BYTES: bytes of messages and images held at once
	MaxDeliver      int           // WORKER_MAX_DELIVER: deliveries before an event is dead-lettered
	AckWait         time.Duration // WORKER_ACK_WAIT: held messages are kept alive with InProgress
	MaxAckPending   int           // WORKER_MAX_ACK_PENDING: server-side limit over all replicas
	ShutdownWait    time.Duration // WORKER_SHUTDOWN_TIMEOUT: time to finish calls and publishes on shutdown

	// Image says how images are prepared before they are sent.
	Image ImageConfig
	// MaxImageBytes bounds images read from the Object Store.
	MaxImageBytes int64
	// DefaultModel fills the model fields an event leaves empty
	// (CLARIFAI_USER_ID, CLARIFAI_APP_ID, CLARIFAI_MODEL_ID,
	// CLARIFAI_MODEL_VERSION_ID).
	DefaultModel predictor.Model

	PauseProbeMin time.Duration // WORKER_PAUSE_PROBE_MIN: first wait before a paused worker tries a call again
	PauseProbeMax time.Duration // WORKER_PAUSE_PROBE_MAX: the wait doubles up to this

	FetchMaxWait    time.Duration // how long one pull request waits for messages
	NakDelayBase    time.Duration // first redelivery delay after a transient failure
	NakDelayMax     time.Duration // cap of the growing redelivery delay
	PublishTimeout  time.Duration // wait for one output's PubAck before trying again
	PublishRetryMax time.Duration // cap of the growing wait between publish attempts
	InfoInterval    time.Duration // how often the consumer's state is polled
}

// DefaultConfig is the configuration the worker documents.
func DefaultConfig() Config {
	return Config{
		Stream:          "IMAGES",
		Subjects:        []string{"images.>"},
		Durable:         "image-predictor",
		CreateStreams:   true,
		Replicas:        1,
		BatchSize:       predictor.MaxInputsPerCall,
		BatchWait:       100 * time.Millisecond,
		MaxInflight:     8,
		MaxPendingBytes: 256 << 20,
		MaxDeliver:      10,
		AckWait:         10 * time.Second,
		MaxAckPending:   20000,
		ShutdownWait:    20 * time.Second,
		Image:           ImageConfig{Orient: true},
		MaxImageBytes:   schemas.MaxImageBytes,
		DefaultModel:    predictor.Model{UserID: "clarifai", AppID: "main", ID: "general-image-recognition"},
		PauseProbeMin:   10 * time.Second,
		PauseProbeMax:   5 * time.Minute,
		FetchMaxWait:    time.Second,
		NakDelayBase:    time.Second,
		NakDelayMax:     time.Minute,
		PublishTimeout:  15 * time.Second,
		PublishRetryMax: 30 * time.Second,
		InfoInterval:    5 * time.Second,
	}
}

// maxPending is MaxPending, or its default when it is 0.
func (c *Config) maxPending() int {
	if c.MaxPending == 0 {
		return c.BatchSize * (c.MaxInflight + 2)
	}
	return c.MaxPending
}

// Validate reports the first bad setting by its environment name.
func (c Config) Validate() error {
	switch {
	case c.Stream == "":
		return invalid("WORKER_STREAM", "must not be empty")
	case len(c.Subjects) == 0:
		return invalid("WORKER_SUBJECTS", "must name at least one subject")
	case c.Durable == "":
		return invalid("WORKER_CONSUMER", "must not be empty")
	case c.Replicas < 1 || c.Replicas > 5:
		return invalid("WORKER_STREAM_REPLICAS", "must be 1-5, got %d", c.Replicas)
	case c.BatchSize < 1 || c.BatchSize > predictor.MaxInputsPerCall:
		return invalid("WORKER_BATCH_SIZE", "must be 1-%d, got %d", predictor.MaxInputsPerCall, c.BatchSize)
	case c.BatchWait < 0:
		return invalid("WORKER_BATCH_WAIT", "must not be negative")
	case c.MaxInflight < 1:
		return invalid("WORKER_MAX_INFLIGHT", "must be at least 1, got %d", c.MaxInflight)
	case c.MaxPending != 0 && c.MaxPending < c.BatchSize:
		return invalid("WORKER_MAX_PENDING", "must be 0 or at least WORKER_BATCH_SIZE (%d), got %d", c.BatchSize, c.MaxPending)
	case c.MaxPendingBytes < 1<<20:
		return invalid("WORKER_MAX_PENDING_BYTES", "must be at least 1MiB, got %d", c.MaxPendingBytes)
	case c.MaxDeliver < 1:
		return invalid("WORKER_MAX_DELIVER", "must be at least 1, got %d", c.MaxDeliver)
	case c.AckWait < time.Second:
		return invalid("WORKER_ACK_WAIT", "must be at least 1s, got %s", c.AckWait)
	case c.MaxAckPending < c.maxPending():
		return invalid("WORKER_MAX_ACK_PENDING", "must be at least WORKER_MAX_PENDING (%d), got %d", c.maxPending(), c.MaxAckPending)
	case c.ShutdownWait < 0:
		return invalid("WORKER_SHUTDOWN_TIMEOUT", "must not be negative")
	case c.DefaultModel.ID == "":
		return invalid("CLARIFAI_MODEL_ID", "must not be empty")
	case c.PauseProbeMin <= 0:
		return invalid("WORKER_PAUSE_PROBE_MIN", "must be positive, got %s", c.PauseProbeMin)
	case c.PauseProbeMax < c.PauseProbeMin:
		return invalid("WORKER_PAUSE_PROBE_MAX", "must be at least WORKER_PAUSE_PROBE_MIN (%s), got %s", c.PauseProbeMin, c.PauseProbeMax)
	case c.Image.MaxSide < 0:
		return invalid("WORKER_IMAGE_MAX_SIDE", "must be 0 (off) or positive, got %d", c.Image.MaxSide)
	case c.MaxImageBytes < 1:
		return invalid("MaxImageBytes", "must be positive")
	case c.FetchMaxWait < 100*time.Millisecond:
		return invalid("FetchMaxWait", "must be at least 100ms")
	case c.NakDelayBase <= 0 || c.NakDelayMax < c.NakDelayBase:
		return invalid("NakDelayBase", "must be positive and at most NakDelayMax")
	case c.PublishTimeout <= 0 || c.PublishRetryMax <= 0 || c.InfoInterval <= 0:
		return invalid("PublishTimeout", "PublishTimeout, PublishRetryMax and InfoInterval must be positive")
	}
	if c.Image.FetchURLs {
		fc := c.Image.Fetch
		fc.SetDefaults()
		if err := fc.Validate(); err != nil {
			return fmt.Errorf("%w: WORKER_FETCH_URLS: %w", ErrInvalidConfig, err)
		}
	}
	for _, s := range c.Subjects {
		if s == "" {
			return invalid("WORKER_SUBJECTS", "has an empty subject")
		}
	}
	return nil
}

func invalid(setting, format string, args ...any) error {
	return fmt.Errorf("%w: %s %s", ErrInvalidConfig, setting, fmt.Sprintf(format, args...))
}
