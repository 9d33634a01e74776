package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/imgpredict/worker/consumer"
	"github.com/imgpredict/worker/embedded"
	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/predictor/local"
	"github.com/imgpredict/worker/publisher"
)

// runWorker wires the worker's parts and runs them until ctx ends.
// started, when not nil, is called with the NATS URL once consuming.
func runWorker(ctx context.Context, cfg *config, log zerolog.Logger, started func(natsURL string)) error {
	natsURL := cfg.NATS.URL
	if cfg.Embedded {
		srv, err := embedded.Start(ctx, embedded.Config{Listen: cfg.EmbeddedListen, DataDir: cfg.DataDir}, log)
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
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096), jetstream.WithPublishAsyncTimeout(15*time.Second))
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/cpu/classes/`)})), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	pred, closePred, err := newPredictor(cfg, log, reg)
	if err != nil {
		return err
	}
	defer closePred()
	pub, err := publisher.New(js, cfg.Publisher, log)
	if err != nil {
		return err
	}
	ccfg := cfg.Consumer
	ccfg.OutputStreams = outputStreams(cfg)
	cons, err := consumer.New(js, pred, pub, ccfg, log, reg)
	if err != nil {
		return err
	}

	stopHTTP, err := serveHTTP(cfg.HTTPAddr, reg, func() bool { return nc.IsConnected() && cons.Ready() }, log)
	if err != nil {
		return err
	}
	defer stopHTTP()
	if started != nil {
		started(natsURL)
	}
	return cons.Run(ctx)
}

// outputStreams are the results and dead-letter streams the worker creates
// when they are missing.
func outputStreams(cfg *config) []jetstream.StreamConfig {
	return []jetstream.StreamConfig{{
		Name:        cfg.ResultsStream,
		Description: "predictions of the image worker",
		Subjects:    []string{streamSubjects(cfg.Publisher.ResultsSubject)},
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Consumer.Replicas,
		Duplicates:  cfg.DuplicateWindow,
	}, {
		Name:        cfg.DeadLetterStream,
		Description: "events the image worker could not predict",
		Subjects:    []string{streamSubjects(cfg.Publisher.DeadLetterSubject)},
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Consumer.Replicas,
		Duplicates:  cfg.DuplicateWindow,
	}}
}

// streamSubjects widens an output subject to its first token plus ">",
// e.g. predictions.{model} -> predictions.>.
func streamSubjects(subject string) string {
	first, _, _ := strings.Cut(subject, ".")
	return first + ".>"
}

func newPredictor(cfg *config, log zerolog.Logger, reg prometheus.Registerer) (consumer.Predictor, func(), error) {
	if cfg.Predictor == "local" {
		log.Info().Msg("using the offline local-color predictor (no Clarifai account needed)")
		p, err := local.New(local.Config{Fetch: local.FetchConfig{AllowPrivate: cfg.LocalAllowPrivate}}, log)
		return p, func() {}, err
	}
	c, err := predictor.NewClient(predictor.ClientConfig{
		Endpoint:      cfg.Clarifai.Endpoint,
		Insecure:      cfg.Clarifai.Insecure,
		PAT:           cfg.Clarifai.PAT,
		CallTimeout:   cfg.Clarifai.CallTimeout,
		MaxBatch:      cfg.Consumer.BatchSize,
		RateLimit:     cfg.Clarifai.RateLimit,
		ThrottlePause: cfg.Clarifai.ThrottlePause,
		Registerer:    reg,
	}, log)
	if err != nil {
		return nil, nil, err
	}
	return c, func() { _ = c.Close() }, nil
}

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

// serveHTTP serves /metrics, /healthz (alive) and /readyz (connected and
// bound) until the returned stop is called.
func serveHTTP(addr string, reg *prometheus.Registry, ready func() bool, log zerolog.Logger) (func(), error) {
	if addr == "" {
		return func() {}, nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready() {
			http.Error(w, "not ready: NATS not connected or consumer not bound", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("WORKER_HTTP_ADDR %s: %w", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("http server")
		}
	}()
	log.Info().Str("addr", ln.Addr().String()).Msg("serving /metrics, /healthz, /readyz")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
