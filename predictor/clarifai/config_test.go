package clarifai

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestClientConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*ClientConfig)
		setting string // named in the error; empty = valid
	}{
		{"defaults", func(*ClientConfig) {}, ""},
		{"no PAT", func(c *ClientConfig) { c.PAT = "" }, "PAT"},
		{"batch too big", func(c *ClientConfig) { c.MaxBatch = 129 }, "WORKER_BATCH_SIZE"},
		{"batch negative", func(c *ClientConfig) { c.MaxBatch = -1 }, "WORKER_BATCH_SIZE"},
		{"lower batch cap", func(c *ClientConfig) { c.MaxBatch = 16 }, ""},
		{"negative call bytes", func(c *ClientConfig) { c.MaxCallBytes = -1 }, "CLARIFAI_MAX_CALL_BYTES"},
		{"negative rate", func(c *ClientConfig) { c.RateLimit = -1 }, "CLARIFAI_RATE_LIMIT"},
		{"negative burst", func(c *ClientConfig) { c.Burst = -1 }, "Burst"},
		{"negative timeout", func(c *ClientConfig) { c.CallTimeout = -time.Second }, "CLARIFAI_CALL_TIMEOUT"},
		{"retry initial above max", func(c *ClientConfig) { c.RetryInitial = time.Minute }, "RetryInitial"},
		{"negative max elapsed", func(c *ClientConfig) { c.RetryMaxElapsed = -1 }, "RetryMaxElapsed"},
		{"negative recv size", func(c *ClientConfig) { c.MaxRecvMsgSize = -1 }, "MaxRecvMsgSize"},
		{"release version", func(c *ClientConfig) { c.Version = "v1.4.0-rc.1+g3f2a" }, ""},
		{"version with a space", func(c *ClientConfig) { c.Version = "1.0 beta" }, "Version"},
		{"version with a newline", func(c *ClientConfig) { c.Version = "1.0\n" }, "Version"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ClientConfig{PAT: "p"}
			tc.change(&c)
			err := c.Validate()
			if tc.setting == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalidConfig)
			require.ErrorContains(t, err, tc.setting)
		})
	}
}

func TestClientConfigDefaults(t *testing.T) {
	c := ClientConfig{PAT: "p"}
	c.setDefaults()
	require.Equal(t, "api.clarifai.com:443", c.Endpoint)
	require.Equal(t, 128, c.MaxBatch)
	require.Equal(t, 100<<20, c.MaxCallBytes)
	require.Equal(t, 15.0, c.RateLimit)
	require.Equal(t, 1, c.Burst)
	require.Equal(t, 30*time.Second, c.CallTimeout)
	require.Equal(t, 256<<20, c.MaxRecvMsgSize)
	require.Equal(t, "dev", c.Version)
}
