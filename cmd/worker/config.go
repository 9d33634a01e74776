package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/trace"

	"github.com/imgpredict/worker/consumer"
	"github.com/imgpredict/worker/embedded"
	"github.com/imgpredict/worker/internal/subjects"
	"github.com/imgpredict/worker/memo"
	"github.com/imgpredict/worker/predictor/clarifai"
	"github.com/imgpredict/worker/predictor/local"
	"github.com/imgpredict/worker/publisher"
	"github.com/imgpredict/worker/quota"
)

// natsConfig says how to reach and authenticate to NATS.
type natsConfig struct {
	URL, Creds, User, Password, Token string
	TLSCA, TLSCert, TLSKey            string
	// InboxPrefix starts the subjects where replies (API answers, PubAcks,
	// pulled messages) arrive. A prefix of its own lets each NATS user be
	// allowed its own replies only.
	InboxPrefix string
}

// validate checks the inbox prefix, which nats.Connect would only refuse
// as it dials, without naming the setting.
func (n natsConfig) validate() error {
	p := n.InboxPrefix
	if p == "" || strings.ContainsAny(p, "*> \t\r\n") || strings.HasPrefix(p, ".") || strings.HasSuffix(p, ".") || strings.Contains(p, "..") {
		return fmt.Errorf("invalid NATS_INBOX_PREFIX %q: must be a subject without wildcards, such as _INBOX_worker", p)
	}
	return nil
}

// config is the whole worker's configuration: each package's own config,
// plus what only the command needs.
type config struct {
	NATS      natsConfig
	Clarifai  clarifai.ClientConfig
	QuotaMode string // fleet or local
	Fleet     quota.FleetConfig
	Predictor string // clarifai or local; "" = decided from the rest
	Local     local.Config
	Consumer  consumer.Config
	Publisher publisher.Config
	Memo      memo.Config
	Embedded  embedded.Config

	// tracer traces events when the OTEL_* variables ask for it; nil
	// traces nothing. It is no setting of ours: cmdRun sets it up.
	tracer trace.TracerProvider

	HTTPAddr    string
	PprofAddr   string
	UseEmbedded bool
	LogLevel    string
	LogFormat   string
}

// defaultConfig holds every package's defaults, so that the settings
// table shows them without writing them again.
func defaultConfig() *config {
	return &config{
		NATS: natsConfig{URL: nats.DefaultURL},
		Clarifai: clarifai.ClientConfig{
			Endpoint:      clarifai.DefaultEndpoint,
			RateLimit:     clarifai.DefaultRateLimit,
			CallTimeout:   clarifai.DefaultCallTimeout,
			ThrottlePause: clarifai.DefaultThrottlePause,
			MaxCallBytes:  clarifai.DefaultMaxCallBytes,
			Version:       version,
		},
		QuotaMode: "fleet",
		Fleet:     quota.FleetConfig{Bucket: quota.DefaultBucket, FallbackReplicas: quota.DefaultFallbackReplicas},
		Consumer:  consumer.DefaultConfig(),
		Publisher: publisher.DefaultConfig(),
		Memo:      memo.DefaultConfig(),
		Embedded:  embedded.Config{Listen: embedded.DefaultListen, DataDir: embedded.DefaultDataDir()},
		HTTPAddr:  ":9090",
		LogLevel:  "info",
		LogFormat: "json",
	}
}

// workerSettings binds every setting of the worker to cfg.
func workerSettings(cfg *config) settings {
	c, p, cl, mm := &cfg.Consumer, &cfg.Publisher, &cfg.Clarifai, &cfg.Memo
	return append(natsSettings(&cfg.NATS), settings{
		{"CLARIFAI_PAT", "Clarifai personal access token", secret(&cl.PAT)},
		{"CLARIFAI_ENDPOINT", "Clarifai gRPC host:port", str(&cl.Endpoint)},
		{"CLARIFAI_INSECURE", "plaintext gRPC (local test servers only)", boolean(&cl.Insecure)},
		{"CLARIFAI_USER_ID", "default model owner's user id", str(&c.DefaultModel.UserID)},
		{"CLARIFAI_APP_ID", "default model owner's app id", str(&c.DefaultModel.AppID)},
		{"CLARIFAI_MODEL_ID", "default model id", str(&c.DefaultModel.ID)},
		{"CLARIFAI_MODEL_VERSION_ID", "default model version (empty = latest)", str(&c.DefaultModel.VersionID)},
		{"CLARIFAI_RATE_LIMIT", "the account's predict calls per second: for the whole fleet with CLARIFAI_QUOTA_MODE=fleet, for this process with local", float(&cl.RateLimit)},
		{"CLARIFAI_QUOTA_MODE", "fleet (replicas share CLARIFAI_RATE_LIMIT over NATS KV) or local (each process has it all)", str(&cfg.QuotaMode)},
		{"CLARIFAI_QUOTA_GROUP", "replicas that share one quota (default: WORKER_CONSUMER); name one group for several fleets on one account", str(&cfg.Fleet.Group)},
		{"CLARIFAI_QUOTA_BUCKET", "KV bucket of the fleet quota", str(&cfg.Fleet.Bucket)},
		{"CLARIFAI_QUOTA_FALLBACK_REPLICAS", "while the quota bucket cannot be used, the quota is divided by the members last seen, or by this when none was", integer(&cfg.Fleet.FallbackReplicas)},
		{"CLARIFAI_CALL_TIMEOUT", "deadline of one predict call", duration(&cl.CallTimeout)},
		{"CLARIFAI_THROTTLE_PAUSE", "pause of all calls after a throttling answer", duration(&cl.ThrottlePause)},
		{"CLARIFAI_MAX_CALL_BYTES", "image bytes of one predict call; a batch is split before it (Clarifai takes < 128 MB per request)", size(&cl.MaxCallBytes)},
		{"WORKER_PREDICTOR", "clarifai or local (default: local with --embedded and no PAT, else clarifai)", str(&cfg.Predictor)},
		{"LOCAL_FETCH_ALLOW_PRIVATE", "local predictor: let image URLs reach loopback, private and link-local addresses", boolean(&cfg.Local.Fetch.AllowPrivate)},
		{"WORKER_STREAM", "input stream, when the worker creates it (an existing stream that captures WORKER_SUBJECTS is used whatever its name)", str(&c.Stream)},
		{"WORKER_SUBJECTS", "input subjects, comma-separated", list(&c.Subjects)},
		{"WORKER_CONSUMER", "durable pull consumer shared by all replicas", str(&c.Durable)},
		{"WORKER_RESULTS_STREAM", "stream of results, when the worker creates it", str(&p.ResultsStream)},
		{"WORKER_RESULTS_SUBJECT", "subject of results; {model} = the model id asked", str(&p.ResultsSubject)},
		{"WORKER_DEADLETTER_STREAM", "stream of dead letters, when the worker creates it", str(&p.DeadLetterStream)},
		{"WORKER_DEADLETTER_SUBJECT", "subject of dead letters", str(&p.DeadLetterSubject)},
		{"WORKER_CREATE_STREAMS", "create a stream when none captures the subjects (existing ones are never changed)", boolean(&c.CreateStreams, &p.CreateStreams, &mm.Create)},
		{"WORKER_STREAM_REPLICAS", "replicas of the streams and buckets the worker creates", integer(&c.Replicas, &p.Replicas, &mm.Replicas)},
		{"WORKER_DUPLICATE_WINDOW", "results stream's dedupe window (when created)", duration(&p.DuplicateWindow)},
		{"WORKER_MASK_BUCKET", "Object Store bucket for masks too large to inline", str(&p.MaskBucket)},
		{"WORKER_IDEMPOTENCY_TTL", "how long an event's stored output is remembered, so that it is never predicted again (0 = off)", duration(&mm.IdempotencyTTL)},
		{"WORKER_IDEMPOTENCY_BUCKET", "KV bucket of the idempotency records", str(&mm.DoneBucket)},
		{"WORKER_CACHE_TTL", "how long a prediction is reused for the same image, model and output config (0 = off)", duration(&mm.CacheTTL)},
		{"WORKER_CACHE_BUCKET", "KV bucket of the result cache", str(&mm.CacheBucket)},
		{"WORKER_CACHE_URLS", "cache URL images too, by URL (a URL's content can change)", boolean(&mm.CacheURLs)},
		{"WORKER_IMAGE_ORIENT", "send photos upright: turn an image by its EXIF orientation (and drop the tag) before it is sent", boolean(&c.Image.Orient)},
		{"WORKER_IMAGE_MAX_SIDE", "scale images whose long side is larger down to this before they are sent (0 = off)", integer(&c.Image.MaxSide)},
		{"WORKER_FETCH_URLS", "download URL images (guarded like the local predictor's) and send their bytes, prepared, instead of the URL", boolean(&c.Image.FetchURLs)},
		{"WORKER_FETCH_ALLOW_PRIVATE", "with WORKER_FETCH_URLS: let image URLs reach loopback, private and link-local addresses", boolean(&c.Image.Fetch.AllowPrivate)},
		{"WORKER_BATCH_SIZE", "max inputs per predict call, 1-128", integer(&c.BatchSize)},
		{"WORKER_BATCH_WAIT", "max time the oldest pending event waits for its batch to fill", duration(&c.BatchWait)},
		{"WORKER_MAX_INFLIGHT", "concurrent predict calls", integer(&c.MaxInflight)},
		{"WORKER_MAX_PENDING", "messages held at once (0 = batch size x (max inflight + 2))", integer(&c.MaxPending)},
		{"WORKER_MAX_PENDING_BYTES", "bytes of messages and images held at once (KiB, MiB, GiB suffixes)", size(&c.MaxPendingBytes)},
		{"WORKER_MAX_DELIVER", "deliveries before an event is dead-lettered", integer(&c.MaxDeliver)},
		{"WORKER_ACK_WAIT", "consumer AckWait; held messages are kept alive with InProgress", duration(&c.AckWait)},
		{"WORKER_MAX_ACK_PENDING", "consumer MaxAckPending over all replicas", integer(&c.MaxAckPending)},
		{"WORKER_PAUSE_PROBE_MIN", "while the Clarifai account cannot make calls (auth, quota, billing), first wait before one call tries again", duration(&c.PauseProbeMin)},
		{"WORKER_PAUSE_PROBE_MAX", "the wait between those calls doubles up to this", duration(&c.PauseProbeMax)},
		{"WORKER_SHUTDOWN_TIMEOUT", "time to finish calls and publishes under way on shutdown", duration(&c.ShutdownWait)},
		{"WORKER_HTTP_ADDR", "address of /metrics, /healthz and /readyz (empty = off)", str(&cfg.HTTPAddr)},
		{"WORKER_PPROF_ADDR", "address of /debug/pprof/ (empty = off; never the WORKER_HTTP_ADDR port)", str(&cfg.PprofAddr)},
		{"WORKER_EMBEDDED", "start an in-process JetStream server", boolean(&cfg.UseEmbedded)},
		{"WORKER_EMBEDDED_LISTEN", "client address of the embedded server", str(&cfg.Embedded.Listen)},
		{"WORKER_DATA_DIR", "storage of the embedded server", str(&cfg.Embedded.DataDir)},
		{"LOG_LEVEL", "debug, info, warn or error", str(&cfg.LogLevel)},
		{"LOG_FORMAT", "json or console", str(&cfg.LogFormat)},
	}...)
}

// natsSettings binds how to reach NATS, for the worker and its tools.
func natsSettings(n *natsConfig) settings {
	if n.URL == "" {
		n.URL = nats.DefaultURL
	}
	if n.InboxPrefix == "" {
		n.InboxPrefix = defaultInboxPrefix
	}
	return settings{
		{"NATS_URL", "NATS server URL(s), comma-separated", str(&n.URL)},
		{"NATS_CREDS", "NATS credentials file", str(&n.Creds)},
		{"NATS_USER", "NATS user", str(&n.User)},
		{"NATS_PASSWORD", "NATS password", secret(&n.Password)},
		{"NATS_TOKEN", "NATS token", secret(&n.Token)},
		{"NATS_TLS_CA", "CA file to verify the NATS server", str(&n.TLSCA)},
		{"NATS_TLS_CERT", "client certificate file for NATS", str(&n.TLSCert)},
		{"NATS_TLS_KEY", "client key file for NATS", str(&n.TLSKey)},
		{"NATS_INBOX_PREFIX", "start of the subjects where replies arrive; one per NATS user lets each read its own only", str(&n.InboxPrefix)},
	}
}

// loadConfig reads the worker's configuration from args and getenv and
// validates every package's part of it before anything connects; usage
// and flag errors go to out.
func loadConfig(name string, args []string, getenv func(string) string, out io.Writer) (*config, error) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	if err := workerSettings(cfg).load(fs, args, getenv, map[string]string{"embedded": "WORKER_EMBEDDED"}); err != nil {
		return nil, err
	}
	if cfg.Predictor == "" {
		cfg.Predictor = "clarifai"
		if cfg.UseEmbedded && cfg.Clarifai.PAT == "" {
			cfg.Predictor = "local"
		}
	}
	cfg.Clarifai.MaxBatch = cfg.Consumer.BatchSize
	return cfg, cfg.validate()
}

func (cfg *config) validate() error {
	if err := cfg.NATS.validate(); err != nil {
		return err
	}
	switch {
	case cfg.Predictor != "clarifai" && cfg.Predictor != "local":
		return errors.New("invalid WORKER_PREDICTOR: must be clarifai or local")
	case cfg.Predictor == "clarifai" && cfg.Clarifai.PAT == "":
		return errors.New("CLARIFAI_PAT is required with the clarifai predictor (or use --embedded for the offline local predictor)")
	case !slices.Contains([]string{"debug", "info", "warn", "error"}, cfg.LogLevel):
		return fmt.Errorf("invalid LOG_LEVEL %q: must be debug, info, warn or error", cfg.LogLevel)
	case cfg.LogFormat != "json" && cfg.LogFormat != "console":
		return fmt.Errorf("invalid LOG_FORMAT %q: must be json or console", cfg.LogFormat)
	case cfg.Predictor == "clarifai" && cfg.Clarifai.RateLimit <= 0:
		return fmt.Errorf("invalid CLARIFAI_RATE_LIMIT %g: must be above 0", cfg.Clarifai.RateLimit)
	case cfg.Predictor == "clarifai" && cfg.Clarifai.CallTimeout <= 0:
		return fmt.Errorf("invalid CLARIFAI_CALL_TIMEOUT %s: must be above 0", cfg.Clarifai.CallTimeout)
	case cfg.QuotaMode != "fleet" && cfg.QuotaMode != "local":
		return fmt.Errorf("invalid CLARIFAI_QUOTA_MODE %q: must be fleet or local", cfg.QuotaMode)
	case cfg.PprofAddr != "" && cfg.PprofAddr == cfg.HTTPAddr:
		return fmt.Errorf("invalid WORKER_PPROF_ADDR %q: profiles must not be served on the metrics address", cfg.PprofAddr)
	}
	for _, out := range []struct{ env, subject string }{
		{"WORKER_RESULTS_SUBJECT", cfg.Publisher.ResultsFilter()},
		{"WORKER_DEADLETTER_SUBJECT", cfg.Publisher.DeadLetterSubject},
	} {
		for _, in := range cfg.Consumer.Subjects {
			if subjects.Collide(in, out.subject) {
				return fmt.Errorf("invalid %s %q: it overlaps the input subject %q, so outputs would be consumed again", out.env, out.subject, in)
			}
		}
	}
	checks := []func() error{cfg.Publisher.Validate, cfg.Consumer.Validate, cfg.Memo.Validate, cfg.Local.Validate, cfg.Embedded.Validate}
	if cfg.Predictor == "clarifai" {
		checks = append(checks, cfg.Clarifai.Validate)
	}
	if cfg.Predictor == "clarifai" && cfg.QuotaMode == "fleet" {
		fleet := cfg.fleet()
		fleet.SetDefaults()
		checks = append(checks, fleet.Validate)
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// fleet is the fleet quota's configuration: its own settings plus the
// Clarifai and consumer settings it shares.
func (cfg *config) fleet() quota.FleetConfig {
	f := cfg.Fleet
	f.Group = cmp.Or(f.Group, cfg.Consumer.Durable)
	f.RateLimit, f.ThrottlePause, f.BucketReplicas = cfg.Clarifai.RateLimit, cfg.Clarifai.ThrottlePause, cfg.Consumer.Replicas
	f.NoCreate = !cfg.Consumer.CreateStreams
	return f
}
