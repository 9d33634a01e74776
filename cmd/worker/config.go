package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/imgpredict/worker/consumer"
	"github.com/imgpredict/worker/publisher"
)

// natsConfig says how to reach and authenticate to NATS.
type natsConfig struct {
	URL, Creds, User, Password, Token string
	TLSCA, TLSCert, TLSKey            string
}

// clarifaiConfig says how to reach Clarifai.
type clarifaiConfig struct {
	PAT           string
	Endpoint      string
	Insecure      bool
	RateLimit     float64
	CallTimeout   time.Duration
	ThrottlePause time.Duration
}

// config is the whole worker's configuration.
type config struct {
	NATS      natsConfig
	Clarifai  clarifaiConfig
	Predictor string // clarifai or local; "" = decided from the rest
	// LocalAllowPrivate lets the local predictor fetch URLs on loopback
	// and private addresses.
	LocalAllowPrivate bool
	Consumer          consumer.Config
	Publisher         publisher.Config

	ResultsStream, DeadLetterStream string
	DuplicateWindow                 time.Duration

	HTTPAddr       string
	Embedded       bool
	EmbeddedListen string
	DataDir        string
	LogLevel       string
	LogFormat      string
}

// workerSettings binds every setting of the worker to cfg.
func workerSettings(cfg *config) settings {
	c, p := &cfg.Consumer, &cfg.Publisher
	return append(natsSettings(&cfg.NATS), settings{
		{"CLARIFAI_PAT", "", "Clarifai personal access token", secret(&cfg.Clarifai.PAT)},
		{"CLARIFAI_ENDPOINT", "api.clarifai.com:443", "Clarifai gRPC host:port", str(&cfg.Clarifai.Endpoint)},
		{"CLARIFAI_INSECURE", "false", "plaintext gRPC (local test servers only)", boolean(&cfg.Clarifai.Insecure)},
		{"CLARIFAI_USER_ID", "clarifai", "default model owner's user id", str(&c.DefaultModel.UserID)},
		{"CLARIFAI_APP_ID", "main", "default model owner's app id", str(&c.DefaultModel.AppID)},
		{"CLARIFAI_MODEL_ID", "general-image-recognition", "default model id", str(&c.DefaultModel.ID)},
		{"CLARIFAI_MODEL_VERSION_ID", "", "default model version (empty = latest)", str(&c.DefaultModel.VersionID)},
		{"CLARIFAI_RATE_LIMIT", "15", "predict calls per second over all goroutines", float(&cfg.Clarifai.RateLimit)},
		{"CLARIFAI_CALL_TIMEOUT", "30s", "deadline of one predict call", duration(&cfg.Clarifai.CallTimeout)},
		{"CLARIFAI_THROTTLE_PAUSE", "5s", "pause of all calls after a throttling answer", duration(&cfg.Clarifai.ThrottlePause)},
		{"WORKER_PREDICTOR", "", "clarifai or local (default: local with --embedded and no PAT, else clarifai)", str(&cfg.Predictor)},
		{"LOCAL_FETCH_ALLOW_PRIVATE", "false", "local predictor: let image URLs reach loopback, private and link-local addresses", boolean(&cfg.LocalAllowPrivate)},
		{"WORKER_STREAM", "IMAGES", "input stream", str(&c.Stream)},
		{"WORKER_SUBJECTS", "images.>", "input subjects, comma-separated", list(&c.Subjects)},
		{"WORKER_CONSUMER", "image-predictor", "durable pull consumer shared by all replicas", str(&c.Durable)},
		{"WORKER_RESULTS_STREAM", "PREDICTIONS", "stream of results (created with subjects predictions.>)", str(&cfg.ResultsStream)},
		{"WORKER_RESULTS_SUBJECT", "predictions.{model}", "subject of results; {model} = model id", str(&p.ResultsSubject)},
		{"WORKER_DEADLETTER_STREAM", "DEADLETTERS", "stream of dead letters (created with subjects deadletters.>)", str(&cfg.DeadLetterStream)},
		{"WORKER_DEADLETTER_SUBJECT", "deadletters.images", "subject of dead letters", str(&p.DeadLetterSubject)},
		{"WORKER_CREATE_STREAMS", "true", "create missing streams (existing ones are never changed)", boolean(&c.CreateStreams)},
		{"WORKER_STREAM_REPLICAS", "1", "replicas of the streams the worker creates", integer(&c.Replicas)},
		{"WORKER_DUPLICATE_WINDOW", "10m", "results stream's dedupe window (when created)", duration(&cfg.DuplicateWindow)},
		{"WORKER_MASK_BUCKET", "masks", "Object Store bucket for masks too large to inline", str(&p.MaskBucket)},
		{"WORKER_BATCH_SIZE", "128", "max inputs per predict call, 1-128", integer(&c.BatchSize)},
		{"WORKER_BATCH_WAIT", "100ms", "max time the oldest pending event waits for its batch to fill", duration(&c.BatchWait)},
		{"WORKER_MAX_INFLIGHT", "8", "concurrent predict calls", integer(&c.MaxInflight)},
		{"WORKER_MAX_PENDING", "0", "messages held at once (0 = batch size x (max inflight + 2))", integer(&c.MaxPending)},
		{"WORKER_MAX_PENDING_BYTES", "256MiB", "bytes of messages and images held at once (KiB, MiB, GiB suffixes)", size(&c.MaxPendingBytes)},
		{"WORKER_MAX_DELIVER", "10", "deliveries before an event is dead-lettered", integer(&c.MaxDeliver)},
		{"WORKER_ACK_WAIT", "10s", "consumer AckWait; held messages are kept alive with InProgress", duration(&c.AckWait)},
		{"WORKER_MAX_ACK_PENDING", "20000", "consumer MaxAckPending over all replicas", integer(&c.MaxAckPending)},
		{"WORKER_SHUTDOWN_TIMEOUT", "20s", "time to finish calls under way on shutdown", duration(&c.ShutdownWait)},
		{"WORKER_HTTP_ADDR", ":9090", "address of /metrics, /healthz and /readyz (empty = off)", str(&cfg.HTTPAddr)},
		{"WORKER_EMBEDDED", "false", "start an in-process JetStream server", boolean(&cfg.Embedded)},
		{"WORKER_EMBEDDED_LISTEN", "127.0.0.1:4222", "client address of the embedded server", str(&cfg.EmbeddedListen)},
		{"WORKER_DATA_DIR", defaultDataDir(), "storage of the embedded server", str(&cfg.DataDir)},
		{"LOG_LEVEL", "info", "debug, info, warn or error", str(&cfg.LogLevel)},
		{"LOG_FORMAT", "json", "json or console", str(&cfg.LogFormat)},
	}...)
}

// natsSettings binds how to reach NATS, for the worker and its tools.
func natsSettings(n *natsConfig) settings {
	return settings{
		{"NATS_URL", "nats://127.0.0.1:4222", "NATS server URL(s), comma-separated", str(&n.URL)},
		{"NATS_CREDS", "", "NATS credentials file", str(&n.Creds)},
		{"NATS_USER", "", "NATS user", str(&n.User)},
		{"NATS_PASSWORD", "", "NATS password", secret(&n.Password)},
		{"NATS_TOKEN", "", "NATS token", secret(&n.Token)},
		{"NATS_TLS_CA", "", "CA file to verify the NATS server", str(&n.TLSCA)},
		{"NATS_TLS_CERT", "", "client certificate file for NATS", str(&n.TLSCert)},
		{"NATS_TLS_KEY", "", "client key file for NATS", str(&n.TLSKey)},
	}
}

func defaultDataDir() string {
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "image-worker")
	}
	return "data"
}

// loadConfig reads the worker's configuration from args and getenv;
// usage and flag errors go to out.
func loadConfig(name string, args []string, getenv func(string) string, out io.Writer) (*config, error) {
	cfg := &config{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	if err := workerSettings(cfg).load(fs, args, getenv, map[string]string{"embedded": "WORKER_EMBEDDED"}); err != nil {
		return nil, err
	}
	if cfg.Predictor == "" {
		cfg.Predictor = "clarifai"
		if cfg.Embedded && cfg.Clarifai.PAT == "" {
			cfg.Predictor = "local"
		}
	}
	return cfg, cfg.validate()
}

func (cfg *config) validate() error {
	switch {
	case cfg.Predictor != "clarifai" && cfg.Predictor != "local":
		return errors.New("invalid WORKER_PREDICTOR: must be clarifai or local")
	case cfg.Predictor == "clarifai" && cfg.Clarifai.PAT == "":
		return errors.New("CLARIFAI_PAT is required with the clarifai predictor (or use --embedded for the offline local predictor)")
	case cfg.Clarifai.RateLimit <= 0:
		return errors.New("invalid CLARIFAI_RATE_LIMIT: must be above 0")
	case !slices.Contains([]string{"debug", "info", "warn", "error"}, cfg.LogLevel):
		return fmt.Errorf("invalid LOG_LEVEL %q: must be debug, info, warn or error", cfg.LogLevel)
	case cfg.LogFormat != "json" && cfg.LogFormat != "console":
		return fmt.Errorf("invalid LOG_FORMAT %q: must be json or console", cfg.LogFormat)
	case cfg.DuplicateWindow < time.Second:
		return errors.New("invalid WORKER_DUPLICATE_WINDOW: must be at least 1s")
	}
	for _, out := range []struct{ env, subject string }{
		{"WORKER_RESULTS_SUBJECT", strings.ReplaceAll(cfg.Publisher.ResultsSubject, publisher.ModelToken, "m")},
		{"WORKER_DEADLETTER_SUBJECT", cfg.Publisher.DeadLetterSubject},
	} {
		for _, in := range cfg.Consumer.Subjects {
			if subjectMatches(in, out.subject) {
				return fmt.Errorf("invalid %s %q: it falls under the input subject %q, so outputs would be consumed again", out.env, out.subject, in)
			}
		}
	}
	if err := cfg.Publisher.Validate(); err != nil {
		return err
	}
	c := cfg.Consumer
	c.SetDefaults()
	return c.Validate()
}

// subjectMatches reports whether the literal subject falls under filter,
// which may hold * and > wildcards.
func subjectMatches(filter, subject string) bool {
	f, s := strings.Split(filter, "."), strings.Split(subject, ".")
	for i, tok := range f {
		if tok == ">" {
			return len(s) > i
		}
		if i >= len(s) || (tok != "*" && tok != s[i]) {
			return false
		}
	}
	return len(f) == len(s)
}
