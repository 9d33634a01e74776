package clarifai

import (
	"context"
	"crypto/tls"
	"fmt"
	"sync"

	"github.com/cenkalti/backoff/v4"
	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	pb "github.com/imgpredict/worker/predictor/clarifai/clarifaipb"
	"github.com/imgpredict/worker/quota"
)

// Client predicts with Clarifai's PostModelOutputs. It is safe for
// concurrent use; all goroutines share one quota.
type Client struct {
	cfg        ClientConfig
	log        zerolog.Logger
	v2         pb.V2Client
	conn       *grpc.ClientConn // nil when the caller owns the connection
	auth       string           // "Key <PAT>", sent as metadata, never logged
	prefix     string           // x-clarifai-request-id-prefix
	quota      Limiter
	metrics    *metrics
	newBackOff func() backoff.BackOff
	closeOnce  sync.Once
	closeErr   error
}

// NewClient dials cfg.Endpoint: TLS with the system roots, or plaintext
// when cfg.Insecure. opts are added to the dial options (tests may pass a
// custom dialer). The connection is made lazily on the first call.
func NewClient(cfg ClientConfig, log zerolog.Logger, opts ...grpc.DialOption) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	creds := credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
	if cfg.Insecure {
		creds = insecure.NewCredentials()
	}
	dial := append([]grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{
			Time:    cfg.KeepaliveTime,
			Timeout: cfg.KeepaliveTimeout,
		}),
	}, opts...)
	conn, err := grpc.NewClient(cfg.Endpoint, dial...)
	if err != nil {
		return nil, fmt.Errorf("dial clarifai %s: %w", cfg.Endpoint, err)
	}
	c, err := newClient(conn, cfg, log)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	c.conn = conn
	return c, nil
}

// NewClientWithConn builds a client on a connection the caller owns and
// closes; cfg.Endpoint, Insecure and the keepalive settings are unused.
func NewClientWithConn(conn grpc.ClientConnInterface, cfg ClientConfig, log zerolog.Logger) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	return newClient(conn, cfg, log)
}

func newClient(conn grpc.ClientConnInterface, cfg ClientConfig, log zerolog.Logger) (*Client, error) {
	m, err := newMetrics(cfg.Registerer, cfg.RateLimit)
	if err != nil {
		return nil, err
	}
	if cfg.Limiter == nil {
		cfg.Limiter = quota.NewLocal(cfg.RateLimit, cfg.Burst, cfg.ThrottlePause)
	}
	c := &Client{
		cfg:     cfg,
		log:     log.With().Str("component", "predictor").Str("endpoint", cfg.Endpoint).Logger(),
		v2:      pb.NewV2Client(conn),
		auth:    "Key " + cfg.PAT,
		prefix:  "image-worker-" + cfg.Version,
		quota:   cfg.Limiter,
		metrics: m,
	}
	// ExponentialBackOff is stateful: every operation gets its own.
	c.newBackOff = func() backoff.BackOff {
		return backoff.NewExponentialBackOff(
			backoff.WithInitialInterval(cfg.RetryInitial),
			backoff.WithMaxInterval(cfg.RetryMax),
			backoff.WithMaxElapsedTime(cfg.RetryMaxElapsed),
			backoff.WithRandomizationFactor(0.5),
			backoff.WithMultiplier(2),
		)
	}
	return c, nil
}

// Close closes the connection NewClient dialled; it is idempotent.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		if c.conn != nil {
			c.closeErr = c.conn.Close()
		}
	})
	return c.closeErr
}

// Ready blocks until the client-wide quota has a call available and no
// throttle pause is on. It takes nothing: the next call takes the token.
func (c *Client) Ready(ctx context.Context) error {
	return c.quota.Ready(ctx)
}
