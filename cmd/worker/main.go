package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv)) }

func run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cmd := "run"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "run":
		err = cmdRun(ctx, args, stderr, getenv)
	case "demo":
		err = cmdDemo(ctx, args, stdout, stderr, getenv)
	case "emit":
		err = cmdEmit(ctx, args, stdout, stderr, getenv)
	case "tail":
		err = cmdTail(ctx, args, stdout, stderr, getenv)
	case "status":
		err = cmdStatus(ctx, args, stdout, stderr, getenv)
	case "version", "--version":
		_, err = fmt.Fprintln(stdout, "worker", version)
	default:
		err = fmt.Errorf("unknown command %q (want run, demo, emit, tail, status or version)", cmd)
	}
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stderr, "worker:", err)
		return 1
	}
	return 0
}

func cmdRun(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) error {
	for _, a := range args {
		if a == "--version" || a == "-version" {
			fmt.Fprintln(stderr, "worker", version)
			return nil
		}
	}
	cfg, err := loadConfig("worker", args, getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	tuneGC(getenv, cfg.Consumer.MaxPendingBytes, log)
	tp, stopTracing, err := newTracing(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := stopTracing(sctx); err != nil {
			log.Warn().Err(err).Msg("flushing traces")
		}
	}()
	cfg.tracer = tp
	log.Info().Str("version", version).Str("predictor", cfg.Predictor).Bool("tracing", tp != nil).Msg("starting")
	return runWorker(ctx, cfg, log, nil)
}

// newLogger builds the one logger the worker passes down.
func newLogger(w io.Writer, level, format string) zerolog.Logger {
	if format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}
