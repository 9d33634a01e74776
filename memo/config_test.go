package memo

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestConfigValidate(t *testing.T) {
	assert.NoError(t, DefaultConfig().Validate())
	off := DefaultConfig()
	off.IdempotencyTTL, off.CacheTTL = 0, 0
	assert.NoError(t, off.Validate(), "0 turns a bucket off")

	for setting, edit := range map[string]func(*Config){
		"WORKER_IDEMPOTENCY_TTL":    func(c *Config) { c.IdempotencyTTL = -time.Second },
		"WORKER_CACHE_TTL":          func(c *Config) { c.CacheTTL = time.Millisecond },
		"WORKER_IDEMPOTENCY_BUCKET": func(c *Config) { c.DoneBucket = "done.bucket" },
		"WORKER_CACHE_BUCKET":       func(c *Config) { c.CacheBucket = c.DoneBucket },
		"WORKER_STREAM_REPLICAS":    func(c *Config) { c.Replicas = 0 },
		"LookupTimeout":             func(c *Config) { c.LookupTimeout = 0 },
		"RetryInterval":             func(c *Config) { c.RetryInterval = 0 },
		"OpenTimeout":               func(c *Config) { c.OpenTimeout = 0 },
	} {
		cfg := DefaultConfig()
		edit(&cfg)
		err := cfg.Validate()
		assert.True(t, errors.Is(err, ErrInvalidConfig), "%s: %v", setting, err)
		assert.ErrorContains(t, err, setting)
	}
}
