package memo

import (
	"errors"
	"fmt"
	"time"

	"github.com/imgpredict/worker/schemas"
)

// ErrInvalidConfig wraps every configuration error.
var ErrInvalidConfig = errors.New("invalid memo config")

// Config says which records are kept, for how long and where. Start from
// DefaultConfig: a zero field is not replaced by its default. Each
// field's comment names its environment variable.
type Config struct {
	IdempotencyTTL time.Duration // WORKER_IDEMPOTENCY_TTL: how long an event's output is remembered; 0 = off
	CacheTTL       time.Duration // WORKER_CACHE_TTL: how long a prediction is reused; 0 = off
	CacheURLs      bool          // WORKER_CACHE_URLS: cache URL images too (a URL's content can change)
	DoneBucket     string        // WORKER_IDEMPOTENCY_BUCKET: KV bucket of the idempotency records
	CacheBucket    string        // WORKER_CACHE_BUCKET: KV bucket of the result cache
	Create         bool          // WORKER_CREATE_STREAMS: create a missing bucket; an existing one is used as it is
	Replicas       int           // WORKER_STREAM_REPLICAS: replicas of a bucket the worker creates

	// LookupTimeout bounds one Done or Cached call; past it the keys
	// count as missing and the bucket as unavailable.
	LookupTimeout time.Duration
	// RetryInterval is how often Run checks the buckets: reopens one
	// that is unavailable, and notices one that went away.
	RetryInterval time.Duration
	// OpenTimeout bounds Run's check of one bucket (creating a
	// replicated one may wait for a leader election).
	OpenTimeout time.Duration
}

// DefaultConfig is the configuration the worker documents.
func DefaultConfig() Config {
	return Config{
		IdempotencyTTL: 72 * time.Hour,
		CacheTTL:       24 * time.Hour,
		DoneBucket:     "image-worker-done",
		CacheBucket:    "image-worker-cache",
		Create:         true,
		Replicas:       1,
		LookupTimeout:  2 * time.Second,
		RetryInterval:  3 * time.Second,
		OpenTimeout:    10 * time.Second,
	}
}

// Validate reports the first bad setting by its environment name.
func (c Config) Validate() error {
	switch {
	case c.IdempotencyTTL < 0 || (c.IdempotencyTTL > 0 && c.IdempotencyTTL < time.Second):
		return invalid("WORKER_IDEMPOTENCY_TTL", "must be 0 (off) or at least 1s, got %s", c.IdempotencyTTL)
	case c.CacheTTL < 0 || (c.CacheTTL > 0 && c.CacheTTL < time.Second):
		return invalid("WORKER_CACHE_TTL", "must be 0 (off) or at least 1s, got %s", c.CacheTTL)
	case !schemas.BucketName(c.DoneBucket):
		return invalid("WORKER_IDEMPOTENCY_BUCKET", "%q must be letters, digits, '-' and '_'", c.DoneBucket)
	case !schemas.BucketName(c.CacheBucket):
		return invalid("WORKER_CACHE_BUCKET", "%q must be letters, digits, '-' and '_'", c.CacheBucket)
	case c.DoneBucket == c.CacheBucket:
		return invalid("WORKER_CACHE_BUCKET", "must differ from WORKER_IDEMPOTENCY_BUCKET (%s)", c.DoneBucket)
	case c.Replicas < 1 || c.Replicas > 5:
		return invalid("WORKER_STREAM_REPLICAS", "must be 1-5, got %d", c.Replicas)
	case c.LookupTimeout <= 0:
		return invalid("LookupTimeout", "must be positive")
	case c.RetryInterval <= 0:
		return invalid("RetryInterval", "must be positive")
	case c.OpenTimeout <= 0:
		return invalid("OpenTimeout", "must be positive")
	}
	return nil
}

func invalid(setting, format string, args ...any) error {
	return fmt.Errorf("%w: %s %s", ErrInvalidConfig, setting, fmt.Sprintf(format, args...))
}
