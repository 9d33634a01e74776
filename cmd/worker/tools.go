package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/imgpredict/worker/emit"
	"github.com/imgpredict/worker/schemas"
	"github.com/imgpredict/worker/tail"
)

// toolFlags are the settings every tool (emit, tail) shares: how to reach
// NATS, and how much to log.
type toolFlags struct {
	nats     natsConfig
	logLevel string
}

func (tf *toolFlags) settings() settings {
	tf.logLevel = "error"
	return append(natsSettings(&tf.nats), setting{"LOG_LEVEL", "debug, info, warn or error; a tool logs errors only, as plain text, unless asked", str(&tf.logLevel)})
}

// toolConn connects a tool to NATS with the NATS_* settings. A tool's
// output is for people: its log is plain text, errors only by default.
func toolConn(tf toolFlags, stderr io.Writer) (jetstream.JetStream, func(), error) {
	lvl, err := zerolog.ParseLevel(tf.logLevel)
	if err != nil {
		return nil, nil, fmt.Errorf("invalid LOG_LEVEL %q: %w", tf.logLevel, err)
	}
	log := zerolog.New(zerolog.ConsoleWriter{Out: stderr, NoColor: true, TimeFormat: time.TimeOnly}).Level(lvl).With().Timestamp().Logger()
	n := tf.nats
	if err := n.validate(); err != nil {
		return nil, nil, err
	}
	nc, err := connect(n.URL, n, log)
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return js, func() { drain(nc, log) }, nil
}

func cmdEmit(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	var tf toolFlags
	cfg := emit.Config{}
	var model schemas.Model
	fs := flag.NewFlagSet("worker emit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: worker emit [flags] FILE|DIR|URL|EVENTS.jsonl ...")
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.Subject, "subject", emit.DefaultSubject, "subject to publish events on")
	fs.StringVar(&cfg.Bucket, "bucket", emit.DefaultBucket, "Object Store bucket for large images")
	fs.Int64Var(&cfg.InlineMax, "inline-max", emit.DefaultInlineMax, "largest image sent inline as base64, in bytes")
	fs.StringVar(&cfg.IDPrefix, "id-prefix", "", "prefix of the generated event ids")
	fs.BoolVar(&cfg.Raw, "raw", false, "publish .jsonl lines as they are, even those the worker will reject")
	models := fs.String("model", "", "model id written into the events, or several, comma-separated, each predicted (default: the worker's)")
	fs.StringVar(&model.VersionID, "model-version-id", "", "model version id written into the events (with one --model)")
	if err := tf.settings().load(fs, args, getenv, nil); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return flag.ErrHelp
	}
	ids := strings.Split(*models, ",")
	switch {
	case *models == "" && model.VersionID != "":
		return errors.New("--model-version-id needs --model")
	case len(ids) > 1 && model.VersionID != "":
		return errors.New("--model-version-id goes with one --model")
	case len(ids) > 1:
		for _, id := range ids {
			cfg.Models = append(cfg.Models, schemas.ModelSpec{ID: strings.TrimSpace(id)})
		}
	case *models != "":
		model.ID = *models
		cfg.Model = &model
	}
	js, closeConn, err := toolConn(tf, stderr)
	if err != nil {
		return err
	}
	defer closeConn()
	tp, stopTracing, err := newTracing(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer func() { _ = stopTracing(context.Background()) }()
	if tp != nil {
		cfg.Tracer = tp.Tracer("github.com/imgpredict/worker/emit")
	}
	_, err = emit.Run(ctx, js, cfg, fs.Args(), stdout)
	return err
}

func cmdTail(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	var tf toolFlags
	var cfg tail.Config
	fs := flag.NewFlagSet("worker tail", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.ResultsStream, "results-stream", tail.DefaultResultsStream, "stream of results")
	fs.StringVar(&cfg.ResultsSubject, "results-subject", tail.DefaultResultsSubject, "subjects of results to show")
	fs.StringVar(&cfg.DeadLetterStream, "deadletter-stream", tail.DefaultDeadLetterStream, "stream of dead letters")
	fs.StringVar(&cfg.DeadLetterSubject, "deadletter-subject", tail.DefaultDeadLetterSubject, "subjects of dead letters to show")
	fs.BoolVar(&cfg.JSON, "json", false, "print each message as raw JSON, one per line")
	fs.IntVar(&cfg.Count, "count", 0, "exit after this many messages (0 = follow until interrupted)")
	fs.BoolVar(&cfg.All, "all", false, "replay the streams from the start")
	if err := tf.settings().load(fs, args, getenv, nil); err != nil {
		return err
	}
	js, closeConn, err := toolConn(tf, stderr)
	if err != nil {
		return err
	}
	defer closeConn()
	err = tail.Run(ctx, js, cfg, stdout)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("%w (start the worker first: it creates the streams)", err)
	}
	return err
}
