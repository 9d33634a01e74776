package consumer

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/schemas"
)

// ErrInvalidConfig wraps every configuration error.
var ErrInvalidConfig = errors.New("invalid consumer config")

// Config tunes pulling, batching and acknowledgement.
type Config struct {
	Stream          string        // input stream
	Subjects        []string      // input subjects; also the consumer's filter
	Durable         string        // durable pull consumer shared by all replicas
	CreateStreams   bool          // create the input stream when missing
	Replicas        int           // replicas of a stream the worker creates
	BatchSize       int           // max inputs per predict call, 1-128
	BatchWait       time.Duration // max time the oldest pending event waits for its batch
	MaxInflight     int           // concurrent predict calls
	MaxPending      int           // messages held at once (pending + in flight); bounds memory
	MaxPendingBytes int64         // bytes of messages and loaded images held at once
	MaxDeliver      int           // deliveries before an event is dead-lettered
	AckWait         time.Duration // server redelivers after this without ack or InProgress
	MaxAckPending   int           // server-side limit over all replicas
	ShutdownWait    time.Duration // time to finish in-flight calls on shutdown
	FetchMaxWait    time.Duration // how long one pull request waits for messages
	NakDelayBase    time.Duration // first redelivery delay after a transient failure
	NakDelayMax     time.Duration // cap of the growing redelivery delay
	PublishTimeout  time.Duration // wait for an output's PubAck before giving the input back

	// OutputStreams are created with the input stream when CreateStreams
	// is on (results and dead letters).
	OutputStreams []jetstream.StreamConfig
	// MaxImageBytes bounds images read from the Object Store.
	MaxImageBytes uint64
	// InfoInterval is how often the consumer's state is polled.
	InfoInterval time.Duration

	// DefaultModel fills the model fields an event leaves empty.
	DefaultModel predictor.Model
}

// SetDefaults fills unset fields with the documented defaults.
func (c *Config) SetDefaults() {
	setDefault(&c.Stream, "IMAGES")
	if len(c.Subjects) == 0 {
		c.Subjects = []string{"images.>"}
	}
	setDefault(&c.Durable, "image-predictor")
	setDefault(&c.Replicas, 1)
	setDefault(&c.BatchSize, predictor.MaxInputsPerCall)
	setDefault(&c.BatchWait, 100*time.Millisecond)
	setDefault(&c.MaxInflight, 8)
	setDefault(&c.MaxPending, c.BatchSize*(c.MaxInflight+2))
	setDefault(&c.MaxPendingBytes, 256<<20)
	setDefault(&c.MaxDeliver, 10)
	setDefault(&c.AckWait, 10*time.Second)
	setDefault(&c.MaxAckPending, 20000)
	setDefault(&c.ShutdownWait, 20*time.Second)
	setDefault(&c.FetchMaxWait, time.Second)
	setDefault(&c.NakDelayBase, time.Second)
	setDefault(&c.NakDelayMax, time.Minute)
	setDefault(&c.PublishTimeout, 30*time.Second)
	setDefault(&c.InfoInterval, 5*time.Second)
	setDefault(&c.MaxImageBytes, schemas.MaxImageBytes)
	setDefault(&c.DefaultModel.UserID, "clarifai")
	setDefault(&c.DefaultModel.AppID, "main")
	setDefault(&c.DefaultModel.ID, "general-image-recognition")
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Validate reports the first bad setting by its environment name.
func (c Config) Validate() error {
	switch {
	case c.Stream == "":
		return invalid("WORKER_STREAM", "must not be empty")
	case c.Durable == "":
		return invalid("WORKER_CONSUMER", "must not be empty")
	case c.BatchSize < 1 || c.BatchSize > predictor.MaxInputsPerCall:
		return invalid("WORKER_BATCH_SIZE", "must be 1-128, got %d", c.BatchSize)
	case c.BatchWait < 0:
		return invalid("WORKER_BATCH_WAIT", "must not be negative")
	case c.MaxInflight < 1:
		return invalid("WORKER_MAX_INFLIGHT", "must be at least 1, got %d", c.MaxInflight)
	case c.MaxPending < c.BatchSize:
		return invalid("WORKER_MAX_PENDING", "must be at least WORKER_BATCH_SIZE (%d), got %d", c.BatchSize, c.MaxPending)
	case c.MaxPendingBytes < 1<<20:
		return invalid("WORKER_MAX_PENDING_BYTES", "must be at least 1 MiB, got %d", c.MaxPendingBytes)
	case c.MaxDeliver < 1:
		return invalid("WORKER_MAX_DELIVER", "must be at least 1, got %d", c.MaxDeliver)
	case c.AckWait < time.Second:
		return invalid("WORKER_ACK_WAIT", "must be at least 1s, got %s", c.AckWait)
	case c.MaxAckPending < c.MaxPending:
		return invalid("WORKER_MAX_ACK_PENDING", "must be at least WORKER_MAX_PENDING (%d), got %d", c.MaxPending, c.MaxAckPending)
	case c.Replicas < 1 || c.Replicas > 5:
		return invalid("WORKER_STREAM_REPLICAS", "must be 1-5, got %d", c.Replicas)
	case c.DefaultModel.ID == "":
		return invalid("CLARIFAI_MODEL_ID", "must not be empty")
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
