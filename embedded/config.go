package embedded

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
)

// Defaults of Config.
const (
	DefaultListen     = "127.0.0.1:4222"
	DefaultMaxMemory  = 256 << 20
	DefaultMaxStore   = 4 << 30
	DefaultMaxPayload = 8 << 20 // results with inline masks are larger than NATS' usual 1 MiB
)

// maxPayloadLimit is the largest max_payload nats-server accepts.
const maxPayloadLimit = 64 << 20

// Config sets up the embedded server. Zero values take the defaults.
type Config struct {
	// Listen is the client address as host:port; port 0 or -1 picks a free one.
	Listen string
	// DataDir holds the JetStream store. Default: the user's cache dir
	// + /image-worker, or ./data when there is none.
	DataDir string
	// MaxMemory caps memory-backed streams, in bytes.
	MaxMemory int64
	// MaxStore caps file-backed streams, in bytes.
	MaxStore int64
	// MaxPayload is the largest message the server accepts, in bytes.
	MaxPayload int64
}

func (c *Config) setDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir()
	}
	if c.MaxMemory == 0 {
		c.MaxMemory = DefaultMaxMemory
	}
	if c.MaxStore == 0 {
		c.MaxStore = DefaultMaxStore
	}
	if c.MaxPayload == 0 {
		c.MaxPayload = DefaultMaxPayload
	}
}

// DefaultDataDir is the user's cache dir + /image-worker, or ./data when
// there is none.
func DefaultDataDir() string {
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "image-worker")
	}
	return "data"
}

// Validate checks the settings; zero values stand for their defaults.
func (c Config) Validate() error {
	c.setDefaults()
	if _, _, err := c.hostPort(); err != nil {
		return err
	}
	if c.MaxMemory < 0 {
		return fmt.Errorf("%w: MaxMemory %d is negative", ErrInvalidConfig, c.MaxMemory)
	}
	if c.MaxStore < 0 {
		return fmt.Errorf("%w: MaxStore %d is negative", ErrInvalidConfig, c.MaxStore)
	}
	if c.MaxPayload < 0 || c.MaxPayload > maxPayloadLimit {
		return fmt.Errorf("%w: MaxPayload %d is outside 0..%d", ErrInvalidConfig, c.MaxPayload, maxPayloadLimit)
	}
	return nil
}

// hostPort splits Listen; a port of 0 becomes -1, which nats-server reads
// as "pick a free port" (0 would mean its default 4222).
func (c Config) hostPort() (string, int, error) {
	host, p, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return "", 0, fmt.Errorf("%w: WORKER_EMBEDDED_LISTEN %q: %w", ErrInvalidConfig, c.Listen, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < -1 || port > 65535 {
		return "", 0, fmt.Errorf("%w: WORKER_EMBEDDED_LISTEN %q: port must be -1..65535", ErrInvalidConfig, c.Listen)
	}
	if port == 0 {
		port = -1
	}
	return host, port, nil
}
