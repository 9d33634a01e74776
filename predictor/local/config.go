package local

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/imgpredict/worker/schemas"
)

// ErrInvalidConfig is wrapped by every configuration error.
var ErrInvalidConfig = errors.New("local: invalid config")

// Config tunes the offline predictor. The zero value takes the defaults.
type Config struct {
	// Workers bounds how many inputs are decoded and analysed at once,
	// across all Predict calls. Default GOMAXPROCS.
	Workers int
	// Colors is the k of k-means: the most dominant colours reported. Default 5.
	Colors int
	// MinShare drops colour clusters covering less of the image. Default 0.02.
	MinShare float64
	// SampleSize is the long side of the downsampled copy that is clustered. Default 64.
	SampleSize int
	// MaskSize is the long side of the region masks. Default 128.
	MaskSize int
	// MaxPixels rejects images with more pixels (decompression bombs)
	// as image_too_large. Default 85 million, Clarifai's documented limit.
	MaxPixels int
	// Fetch configures the download of URL inputs.
	Fetch FetchConfig
}

func (c *Config) setDefaults() {
	if c.Workers == 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.Colors == 0 {
		c.Colors = 5
	}
	if c.MinShare == 0 {
		c.MinShare = 0.02
	}
	if c.SampleSize == 0 {
		c.SampleSize = 64
	}
	if c.MaskSize == 0 {
		c.MaskSize = 128
	}
	if c.MaxPixels == 0 {
		c.MaxPixels = 85_000_000
	}
	c.Fetch.setDefaults()
}

// Validate reports the first setting that is out of range; zero values
// stand for their defaults.
func (c Config) Validate() error {
	c.setDefaults()
	switch {
	case c.Workers < 1:
		return fmt.Errorf("%w: Workers must be at least 1, got %d", ErrInvalidConfig, c.Workers)
	case c.Colors < 1 || c.Colors > 32:
		return fmt.Errorf("%w: Colors must be in [1, 32], got %d", ErrInvalidConfig, c.Colors)
	case c.MinShare < 0 || c.MinShare >= 1:
		return fmt.Errorf("%w: MinShare must be in [0, 1), got %g", ErrInvalidConfig, c.MinShare)
	case c.SampleSize < 8 || c.SampleSize > 512:
		return fmt.Errorf("%w: SampleSize must be in [8, 512], got %d", ErrInvalidConfig, c.SampleSize)
	case c.MaskSize < 8 || c.MaskSize > 1024:
		return fmt.Errorf("%w: MaskSize must be in [8, 1024], got %d", ErrInvalidConfig, c.MaskSize)
	case c.MaxPixels < 1:
		return fmt.Errorf("%w: MaxPixels must be positive, got %d", ErrInvalidConfig, c.MaxPixels)
	}
	return c.Fetch.Validate()
}

// FetchConfig tunes the download of image URLs.
type FetchConfig struct {
	// Timeout bounds one Fetch, all attempts included. Default 10s.
	Timeout time.Duration
	// ConnectTimeout bounds establishing a connection. Default 3s.
	ConnectTimeout time.Duration
	// MaxBytes caps the body; larger images fail as image_too_large.
	// Default schemas.MaxImageBytes (20 MB).
	MaxBytes int64
	// MaxRedirects is the most redirects followed. Default 5; -1 follows none.
	MaxRedirects int
	// Retries is how many more attempts follow a 5xx, 429 or network
	// error. Default 2; -1 means none.
	Retries int
	// RetryBackoff is the pause before the first retry; it doubles. Default 100ms.
	RetryBackoff time.Duration
	// UserAgent is sent with every request. Default "imgpredict-worker/local-color".
	UserAgent string
	// AllowPrivate lets URLs reach loopback, private, link-local and other
	// non-public addresses. Off by default, so that an event cannot make
	// the worker fetch from its own network (cloud metadata endpoints,
	// internal services). The check is on the address dialled, after DNS
	// and on every redirect; a proxy on a private address needs it on.
	AllowPrivate bool
}

func (c *FetchConfig) setDefaults() {
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
		c.UserAgent = "imgpredict-worker/local-color"
	}
}

// Validate reports the first setting that is out of range.
func (c FetchConfig) Validate() error {
	switch {
	case c.Timeout <= 0:
		return fmt.Errorf("%w: Fetch.Timeout must be positive, got %s", ErrInvalidConfig, c.Timeout)
	case c.ConnectTimeout <= 0:
		return fmt.Errorf("%w: Fetch.ConnectTimeout must be positive, got %s", ErrInvalidConfig, c.ConnectTimeout)
	case c.MaxBytes <= 0:
		return fmt.Errorf("%w: Fetch.MaxBytes must be positive, got %d", ErrInvalidConfig, c.MaxBytes)
	case c.MaxRedirects < -1 || c.MaxRedirects > 20:
		return fmt.Errorf("%w: Fetch.MaxRedirects must be in [-1, 20], got %d", ErrInvalidConfig, c.MaxRedirects)
	case c.Retries < -1 || c.Retries > 10:
		return fmt.Errorf("%w: Fetch.Retries must be in [-1, 10], got %d", ErrInvalidConfig, c.Retries)
	case c.RetryBackoff < 0:
		return fmt.Errorf("%w: Fetch.RetryBackoff must not be negative, got %s", ErrInvalidConfig, c.RetryBackoff)
	}
	return nil
}
