package clarifai

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/imgpredict/worker/predictor"

	"github.com/prometheus/client_golang/prometheus"
)

// ErrInvalidConfig is wrapped by every configuration error.
var ErrInvalidConfig = errors.New("invalid predictor config")

// Defaults of ClientConfig; zero fields take these.
const (
	DefaultEndpoint         = "api.clarifai.com:443"
	DefaultCallTimeout      = 30 * time.Second
	DefaultRateLimit        = 15 // Clarifai's default quota, calls per second
	DefaultBurst            = 1
	DefaultRetryInitial     = 500 * time.Millisecond
	DefaultRetryMax         = 15 * time.Second
	DefaultRetryMaxElapsed  = 60 * time.Second
	DefaultThrottlePause    = 5 * time.Second
	DefaultMaxRecvMsgSize   = 256 << 20
	DefaultMaxCallBytes     = 100 << 20 // Clarifai documents < 128 MB per request
	DefaultKeepaliveTime    = 30 * time.Second
	DefaultKeepaliveTimeout = 10 * time.Second
	DefaultVersion          = "dev"
)

// ClientConfig tunes the Clarifai client. Zero values take the defaults above.
type ClientConfig struct {
	// Endpoint is host:port of Clarifai's gRPC API.
	Endpoint string
	// Insecure dials in plaintext, for local test servers only.
	Insecure bool
	// PAT is the personal access token (or app key); required. It is sent as
	// "authorization: Key <PAT>" and never logged.
	PAT string
	// CallTimeout bounds one RPC.
	CallTimeout time.Duration
	// MaxBatch caps the inputs of one call, 1..MaxInputsPerCall (default).
	MaxBatch int
	// MaxCallBytes caps the image bytes of one call (a URL counts its
	// length); a group is split at whichever of MaxBatch and MaxCallBytes
	// comes first. An input larger than this still goes, alone.
	MaxCallBytes int
	// RateLimit is the client-wide quota in calls per second.
	RateLimit float64
	// Burst is how many calls may start at once; 1 spaces calls evenly so
	// that no one-second window holds more than RateLimit calls.
	Burst int
	// RetryInitial, RetryMax and RetryMaxElapsed shape the exponential
	// backoff (with jitter) between attempts of one operation.
	RetryInitial    time.Duration
	RetryMax        time.Duration
	RetryMaxElapsed time.Duration
	// ThrottlePause stops all calls for this long after a throttling answer.
	ThrottlePause time.Duration
	// MaxRecvMsgSize is the largest response accepted, in bytes; a batch of
	// segmentation masks exceeds grpc-go's 4 MiB default.
	MaxRecvMsgSize int
	// KeepaliveTime and KeepaliveTimeout tune gRPC keepalive pings, sent
	// only while calls are in flight.
	KeepaliveTime    time.Duration
	KeepaliveTimeout time.Duration
	// Limiter holds the calls under the quota; nil makes a quota.Local of
	// RateLimit, Burst and ThrottlePause.
	Limiter Limiter
	// Registerer receives the client's metrics; nil registers none.
	Registerer prometheus.Registerer
	// Version is the worker's version: every call carries the metadata
	// x-clarifai-request-id-prefix: image-worker-<Version>, which lets
	// Clarifai's support find the calls. Printable ASCII without spaces.
	Version string
}

func (c *ClientConfig) setDefaults() {
	c.Endpoint = cmp.Or(c.Endpoint, DefaultEndpoint)
	c.CallTimeout = cmp.Or(c.CallTimeout, DefaultCallTimeout)
	c.MaxBatch = cmp.Or(c.MaxBatch, predictor.MaxInputsPerCall)
	c.MaxCallBytes = cmp.Or(c.MaxCallBytes, DefaultMaxCallBytes)
	c.RateLimit = cmp.Or(c.RateLimit, DefaultRateLimit)
	c.Burst = cmp.Or(c.Burst, DefaultBurst)
	c.RetryInitial = cmp.Or(c.RetryInitial, DefaultRetryInitial)
	c.RetryMax = cmp.Or(c.RetryMax, DefaultRetryMax)
	c.RetryMaxElapsed = cmp.Or(c.RetryMaxElapsed, DefaultRetryMaxElapsed)
	c.ThrottlePause = cmp.Or(c.ThrottlePause, DefaultThrottlePause)
	c.MaxRecvMsgSize = cmp.Or(c.MaxRecvMsgSize, DefaultMaxRecvMsgSize)
	c.KeepaliveTime = cmp.Or(c.KeepaliveTime, DefaultKeepaliveTime)
	c.KeepaliveTimeout = cmp.Or(c.KeepaliveTimeout, DefaultKeepaliveTimeout)
	c.Version = cmp.Or(c.Version, DefaultVersion)
}

// Validate reports the first invalid setting, after applying defaults to a
// copy. Messages name the setting and never show the PAT.
func (c ClientConfig) Validate() error {
	c.setDefaults()
	switch {
	case c.PAT == "":
		return fmt.Errorf("%w: CLARIFAI_PAT is required", ErrInvalidConfig)
	case c.CallTimeout <= 0:
		return fmt.Errorf("%w: CLARIFAI_CALL_TIMEOUT must be positive, got %s", ErrInvalidConfig, c.CallTimeout)
	case c.MaxBatch < 1 || c.MaxBatch > predictor.MaxInputsPerCall:
		return fmt.Errorf("%w: WORKER_BATCH_SIZE must be in 1..%d, got %d", ErrInvalidConfig, predictor.MaxInputsPerCall, c.MaxBatch)
	case c.MaxCallBytes < 0:
		return fmt.Errorf("%w: CLARIFAI_MAX_CALL_BYTES must be positive, got %d", ErrInvalidConfig, c.MaxCallBytes)
	case c.RateLimit <= 0:
		return fmt.Errorf("%w: CLARIFAI_RATE_LIMIT must be positive, got %g", ErrInvalidConfig, c.RateLimit)
	case c.Burst < 0:
		return fmt.Errorf("%w: Burst must be positive, got %d", ErrInvalidConfig, c.Burst)
	case c.RetryInitial < 0 || c.RetryMax < c.RetryInitial:
		return fmt.Errorf("%w: RetryInitial (%s) must be positive and at most RetryMax (%s)", ErrInvalidConfig, c.RetryInitial, c.RetryMax)
	case c.RetryMaxElapsed < 0:
		return fmt.Errorf("%w: RetryMaxElapsed must be positive, got %s", ErrInvalidConfig, c.RetryMaxElapsed)
	case c.ThrottlePause < 0:
		return fmt.Errorf("%w: CLARIFAI_THROTTLE_PAUSE must be positive, got %s", ErrInvalidConfig, c.ThrottlePause)
	case c.MaxRecvMsgSize < 0:
		return fmt.Errorf("%w: MaxRecvMsgSize must be positive, got %d", ErrInvalidConfig, c.MaxRecvMsgSize)
	case c.KeepaliveTime < 0 || c.KeepaliveTimeout < 0:
		return fmt.Errorf("%w: KeepaliveTime and KeepaliveTimeout must be positive", ErrInvalidConfig)
	case strings.ContainsFunc(c.Version, func(r rune) bool { return r <= ' ' || r > '~' }):
		return fmt.Errorf("%w: Version must be printable ASCII without spaces, got %q", ErrInvalidConfig, c.Version)
	}
	return nil
}

// String shows the settings with the PAT redacted, so that logging a config
// by accident does not leak it.
func (c ClientConfig) String() string {
	pat := ""
	if c.PAT != "" {
		pat = "[redacted]"
	}
	return fmt.Sprintf("{Endpoint:%s Insecure:%t PAT:%s CallTimeout:%s MaxBatch:%d MaxCallBytes:%d RateLimit:%g Burst:%d "+
		"RetryInitial:%s RetryMax:%s RetryMaxElapsed:%s ThrottlePause:%s MaxRecvMsgSize:%d "+
		"KeepaliveTime:%s KeepaliveTimeout:%s Version:%s}",
		c.Endpoint, c.Insecure, pat, c.CallTimeout, c.MaxBatch, c.MaxCallBytes, c.RateLimit, c.Burst,
		c.RetryInitial, c.RetryMax, c.RetryMaxElapsed, c.ThrottlePause, c.MaxRecvMsgSize,
		c.KeepaliveTime, c.KeepaliveTimeout, c.Version)
}
