package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"

	"github.com/imgpredict/worker/status"
)

func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	var tf toolFlags
	wc := defaultConfig()
	cfg := status.Config{Since: status.DefaultSince, MaxRead: status.DefaultMaxRead}
	var asJSON bool
	fs := flag.NewFlagSet("worker status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: worker status [flags]\n\nThe input stream, the durable consumer and the outputs of the last minutes, from NATS alone.")
		fs.PrintDefaults()
	}
	fs.DurationVar(&cfg.Since, "since", cfg.Since, "count results and dead letters stored this long ago or later")
	fs.IntVar(&cfg.MaxRead, "max-read", cfg.MaxRead, "dead letters read for their reasons, at most")
	fs.BoolVar(&asJSON, "json", false, "print JSON for programs")
	// The worker's own settings say where its streams and consumer are.
	ss := tf.settings()
	for _, s := range workerSettings(wc) {
		if slices.Contains([]string{"WORKER_SUBJECTS", "WORKER_CONSUMER", "WORKER_RESULTS_SUBJECT", "WORKER_DEADLETTER_SUBJECT"}, s.env) {
			ss = append(ss, s)
		}
	}
	if err := ss.load(fs, args, getenv, nil); err != nil {
		return err
	}
	cc, pc := wc.Consumer, wc.Publisher
	cfg.Subjects, cfg.Durable = cc.Subjects, cc.Durable
	cfg.ResultsFilter = pc.ResultsFilter()
	cfg.DeadLetterFilter = pc.DeadLetterSubject
	if err := cfg.Validate(); err != nil {
		return err
	}
	js, closeConn, err := toolConn(tf, stderr)
	if err != nil {
		return err
	}
	defer closeConn()
	r, err := status.Collect(ctx, js, cfg)
	if err != nil {
		return err
	}
	if asJSON {
		return status.WriteJSON(stdout, r)
	}
	return status.WriteTable(stdout, r)
}
