package imageprep

import (
	"fmt"
	"time"

	"github.com/imgpredict/worker/schemas"
)

// FetchConfig tunes the download of image URLs. The zero value takes the
// defaults.
type FetchConfig struct {
	// Timeout bounds one Fetch, all attempts included. Default 10s.
	Timeout time.Duration
	// ConnectTimeout bounds establishing a connection. Default 3s.
	ConnectTimeout time.Duration
	// MaxBytes caps the body; larger images fail with ErrTooLarge.
	// Default schemas.MaxImageBytes (20 MB), Clarifai's limit.
	MaxBytes int64
	// MaxRedirects is the most redirects followed. Default 5; -1 follows none.
	MaxRedirects int
	// Retries is how many more attempts follow a 5xx, 429 or network
	// error. Default 2; -1 means none.
	Retries int
	// RetryBackoff is the pause before the first retry; it doubles. Default 100ms.
	RetryBackoff time.Duration
	// UserAgent is sent with every request. Default "imgpredict-worker".
	UserAgent string
	// AllowPrivate lets URLs reach loopback, private, link-local and other
	// non-public addresses. Off by default, so that an event cannot make
	// the worker fetch from its own network (cloud metadata endpoints,
	// internal services). The check is on the address dialled, after DNS
	// and on every redirect; a proxy on a private address needs it on.
	AllowPrivate bool
}

// SetDefaults fills the zero fields with their defaults.
func (c *FetchConfig) SetDefaults() {
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 3 * time.Second
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = schemas.MaxImageBytes
	}
	if c.MaxRedirects == 0 {
		c.MaxRedirects = 5
	}
	if c.Retries == 0 {
		c.Retries = 2
	}
	if c.RetryBackoff == 0 {
		c.RetryBackoff = 100 * time.Millisecond
	}
	if c.UserAgent == "" {
		c.UserAgent = "imgpredict-worker"
	}
}

// Validate reports the first setting that is out of range.
func (c FetchConfig) Validate() error {
	switch {
	case c.Timeout <= 0:
		return fmt.Errorf("%w: Timeout must be positive, got %s", ErrInvalidConfig, c.Timeout)
	case c.ConnectTimeout <= 0:
		return fmt.Errorf("%w: ConnectTimeout must be positive, got %s", ErrInvalidConfig, c.ConnectTimeout)
	case c.MaxBytes <= 0:
		return fmt.Errorf("%w: MaxBytes must be positive, got %d", ErrInvalidConfig, c.MaxBytes)
	case c.MaxRedirects < -1 || c.MaxRedirects > 20:
		return fmt.Errorf("%w: MaxRedirects must be in [-1, 20], got %d", ErrInvalidConfig, c.MaxRedirects)
	case c.Retries < -1 || c.Retries > 10:
		return fmt.Errorf("%w: Retries must be in [-1, 10], got %d", ErrInvalidConfig, c.Retries)
	case c.RetryBackoff < 0:
		return fmt.Errorf("%w: RetryBackoff must not be negative, got %s", ErrInvalidConfig, c.RetryBackoff)
	}
	return nil
}
