package local

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/imgpredict/worker/imageprep"
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
	if c.Fetch.UserAgent == "" {
		c.Fetch.UserAgent = "imgpredict-worker/local-color"
	}
	c.Fetch.SetDefaults()
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
	if err := c.Fetch.Validate(); err != nil {
		return fmt.Errorf("%w: Fetch: %w", ErrInvalidConfig, err)
	}
	return nil
}

// FetchConfig tunes the download of image URLs; the guard is shared
// with the worker's own URL fetching.
type FetchConfig = imageprep.FetchConfig
