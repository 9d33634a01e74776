package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"regexp"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/imgpredict/worker/consumer"
	"github.com/imgpredict/worker/embedded"
	"github.com/imgpredict/worker/memo"
	"github.com/imgpredict/worker/predictor/clarifai"
	"github.com/imgpredict/worker/predictor/local"
	"github.com/imgpredict/worker/publisher"
	"github.com/imgpredict/worker/quota"
)

// runWorker wires the worker's parts and runs them until ctx ends.
// started, when not nil, is called with the NATS URL once consuming. It
// returns an error, at once, when the configuration can never work.
func runWorker(ctx context.Context, cfg *config, log zerolog.Logger, started func(natsURL string)) error {
	natsURL := cfg.NATS.URL
	if cfg.UseEmbedded {
		srv, err := embedded.Start(ctx, cfg.Embedded, log)
		if err != nil {
			return err
		}
		defer srv.Shutdown()
		natsURL = srv.ClientURL()
	}
	nc, err := connect(natsURL, cfg.NATS, log)
	if err != nil {
		return err
	}
	defer drain(nc, log)
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}

	reg := newRegistry()
	p, err := newParts(cfg, nc, js, log, reg)
	if err != nil {
		return err
	}
	defer p.close()
	pub, mem, cons := p.pub, p.mem, p.cons
	stopHTTP, err := serveHTTP(cfg.HTTPAddr, reg, func() string {
		switch {
		case !nc.IsConnected():
			return "NATS not connected"
		case !cons.Ready():
			return "consumer not bound"
		case cons.Paused() != "":
			return "paused: the Clarifai account cannot make calls (" + cons.Paused() + ")"
		}
		return ""
	}, log)
	if err != nil {
		return err
	}
	defer stopHTTP()
	stopPprof, err := servePprof(cfg.PprofAddr, log)
	if err != nil {
		return err
	}
	defer stopPprof()
	if err := pub.Setup(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	// The memory runs beside the consumer; its first look at the buckets
	// comes before consuming, so that redeliveries right after a restart
	// find their records.
	memDone := make(chan struct{})
	go func() { defer close(memDone); _ = mem.Run(ctx) }()
	defer func() { <-memDone }()
	select {
	case <-mem.Checked():
	case <-ctx.Done():
		return nil
	}
	if started != nil {
		started(natsURL)
	}
	return cons.Run(ctx)
}

// newRegistry holds what /metrics serves: Go's and the process's
// metrics here, every part's own registered by newParts.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/cpu/classes/`)})), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// parts are the worker's components on one connection.
type parts struct {
	pub   *publisher.Publisher
	mem   *memo.Memo
	cons  *consumer.Consumer
	close func()
}

// newParts builds the worker's components; each registers its metrics on
// reg. Only a fleet quota's limiter starts running; close stops it.
func newParts(cfg *config, nc *nats.Conn, js jetstream.JetStream, log zerolog.Logger, reg prometheus.Registerer) (parts, error) {
	pred, closePred, err := newPredictor(cfg, js, log, reg)
	if err != nil {
		return parts{}, err
	}
	pub, err := publisher.New(nc, cfg.Publisher, log)
	if err != nil {
		closePred()
		return parts{}, err
	}
	mem, err := memo.New(nc, cfg.Memo, log, reg)
	if err != nil {
		closePred()
		return parts{}, err
	}
	opts := []consumer.Option{consumer.WithMemory(mem)}
	if cfg.tracer != nil {
		opts = append(opts, consumer.WithTracer(cfg.tracer))
	}
	cons, err := consumer.New(js, pred, pub, cfg.Consumer, log, reg, opts...)
	if err != nil {
		closePred()
		return parts{}, err
	}
	return parts{pub: pub, mem: mem, cons: cons, close: closePred}, nil
}

// newPredictor builds the predictor. With a fleet quota, its limiter
// runs until the returned close, which the caller calls once the consumer
// has stopped.
func newPredictor(cfg *config, js jetstream.JetStream, log zerolog.Logger, reg prometheus.Registerer) (consumer.Predictor, func(), error) {
	if cfg.Predictor == "local" {
		log.Info().Msg("using the offline local-color predictor (no Clarifai account needed)")
		p, err := local.New(cfg.Local, log)
		return p, func() {}, err
	}
	ccfg := cfg.Clarifai
	ccfg.Registerer = reg
	stopFleet := func() {}
	if cfg.QuotaMode == "fleet" {
		fleet, err := quota.NewFleet(js, cfg.fleet(), log, reg)
		if err != nil {
			return nil, nil, err
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = fleet.Run(ctx) }()
		stopFleet = func() { cancel(); <-done }
		ccfg.Limiter = fleet
	}
	c, err := clarifai.NewClient(ccfg, log)
	if err != nil {
		stopFleet()
		return nil, nil, err
	}
	return c, func() { _ = c.Close(); stopFleet() }, nil
}

// defaultInboxPrefix is the NATS clients' own.
const defaultInboxPrefix = "_INBOX"

// connect dials NATS and keeps reconnecting forever: the worker recovers
// from broker restarts by itself.
func connect(url string, nc natsConfig, log zerolog.Logger) (*nats.Conn, error) {
	log = log.With().Str("component", "nats").Logger()
	opts := []nats.Option{
		nats.Name("image-worker"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.PingInterval(5 * time.Second), // a peer killed without a FIN is noticed in ~10 s
		nats.MaxPingsOutstanding(2),
		nats.RetryOnFailedConnect(true),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { log.Warn().Err(err).Msg("disconnected") }),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info().Str("url", c.ConnectedUrlRedacted()).Msg("reconnected") }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { log.Warn().Err(err).Msg("nats") }),
	}
	if nc.InboxPrefix != defaultInboxPrefix {
		opts = append(opts, nats.CustomInboxPrefix(nc.InboxPrefix))
	}
	if nc.Creds != "" {
		opts = append(opts, nats.UserCredentials(nc.Creds))
	}
	if nc.User != "" {
		opts = append(opts, nats.UserInfo(nc.User, nc.Password))
	}
	if nc.Token != "" {
		opts = append(opts, nats.Token(nc.Token))
	}
	if nc.TLSCA != "" {
		opts = append(opts, nats.RootCAs(nc.TLSCA))
	}
	if nc.TLSCert != "" || nc.TLSKey != "" {
		opts = append(opts, nats.ClientCert(nc.TLSCert, nc.TLSKey))
	}
	conn, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS: %w", err)
	}
	return conn, nil
}

// drain flushes what is in flight and closes the connection.
func drain(nc *nats.Conn, log zerolog.Logger) {
	closed := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if err := nc.Drain(); err != nil {
		nc.Close()
		return
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		log.Warn().Msg("NATS drain timed out")
		nc.Close()
	}
}

// serveHTTP serves /metrics, /healthz (alive) and /readyz (connected,
// bound and not paused; notReady says why not, "" when ready) until the
// returned stop is called.
func serveHTTP(addr string, reg *prometheus.Registry, notReady func() string, log zerolog.Logger) (func(), error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if why := notReady(); why != "" {
			http.Error(w, "not ready: "+why, http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	return serve("WORKER_HTTP_ADDR", addr, mux, "/metrics, /healthz, /readyz", log)
}

// servePprof serves net/http/pprof on its own address, never on the
// metrics port: profiles show code paths and are for operators only.
func servePprof(addr string, log zerolog.Logger) (func(), error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return serve("WORKER_PPROF_ADDR", addr, mux, "/debug/pprof/", log)
}

// serve runs h on addr until the returned stop is called; an empty addr
// serves nothing.
func serve(setting, addr string, h http.Handler, what string, log zerolog.Logger) (func(), error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", setting, addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Str("addr", addr).Msg("http server")
		}
	}()
	log.Info().Str("addr", ln.Addr().String()).Msgf("serving %s", what)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
