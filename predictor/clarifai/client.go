package clarifai

import (
	"context"
	"crypto/tls"
	"fmt"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
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
// It first waits, for a while, for the connection to Clarifai to be up.
func (c *Client) Ready(ctx context.Context) error {
	c.connected(ctx)
	return c.quota.Ready(ctx)
}

// connectWait bounds how long Ready waits for the connection.
const connectWait = 5 * time.Second

// connected starts the connection if it is idle (before the first call,
// or after a long quiet spell) and waits, up to connectWait, until it is
// up. A call that had to dial first (DNS, TCP, TLS) would reach Clarifai
// well after its quota slot, and the account's quota is counted where
// calls arrive: a call 50 ms late lets the calls after it crowd 16 into
// one second, and the answer is a throttle that pauses every replica. A
// connection that does not come up is left to the call, which fails and
// is retried as it always was.
func (c *Client) connected(ctx context.Context) {
	if c.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, connectWait)
	defer cancel()
	for {
		s := c.conn.GetState()
		switch s {
		case connectivity.Ready, connectivity.Shutdown:
			return
		case connectivity.Idle:
			c.conn.Connect()
		}
		if !c.conn.WaitForStateChange(ctx, s) {
			return
		}
	}
}
