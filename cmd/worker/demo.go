package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/imgpredict/worker/embedded"
	"github.com/imgpredict/worker/emit"
	"github.com/imgpredict/worker/predictor/local/samplegen"
	"github.com/imgpredict/worker/schemas"
	"github.com/imgpredict/worker/tail"
)

// cmdDemo runs the whole pipeline on embedded defaults: an in-process
// JetStream server, the worker with the offline predictor, the bundled
// sample images (plus one broken file, to show a dead letter), and a
// table of every result.
func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("worker demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", time.Minute, "give up waiting for results after this long")
	verbose := fs.Bool("v", false, "show the worker's log")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	logOut := io.Discard
	if *verbose {
		logOut = stderr
	}
	log := newLogger(logOut, "info", "console")

	dir, err := os.MkdirTemp("", "image-worker-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := embedded.Start(ctx, embedded.Config{Listen: "127.0.0.1:-1", DataDir: filepath.Join(dir, "nats")}, log)
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	fmt.Fprintf(stdout, "embedded JetStream at %s; offline predictor local-color\n\n", srv.ClientURL())

	cfg, err := loadConfig("worker", []string{"--nats-url", srv.ClientURL(), "--worker-predictor", "local", "--worker-http-addr", ""}, getenv, io.Discard)
	if err != nil {
		return err
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	out := collect(nc)
	defer out.stop()

	workerCtx, stopWorker := context.WithCancel(ctx)
	workerDone := make(chan error, 1)
	go func() { workerDone <- runWorker(workerCtx, cfg, log, nil) }()
	defer func() { stopWorker(); <-workerDone }()
	if err := waitStream(ctx, js, cfg.Consumer.Stream); err != nil {
		return err
	}

	images := filepath.Join(dir, "images")
	if err := os.Mkdir(images, 0o700); err != nil {
		return err
	}
	if err := samplegen.WriteDir(images); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(images, "broken.png"), []byte("this is not a PNG"), 0o600); err != nil {
		return err
	}
	stats, err := emit.Run(ctx, js, emit.Config{IDPrefix: "demo-"}, []string{images}, stdout)
	if err != nil {
		return err
	}
	results, dead, err := out.wait(ctx, stats.Acked)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%d results, %d dead letters:\n\n", len(results), len(dead))
	return tail.FormatTable(stdout, results, dead)
}

func waitStream(ctx context.Context, js jetstream.JetStream, name string) error {
	for {
		if _, err := js.Stream(ctx, name); err == nil {
			return nil
		} else if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the worker did not create stream %s: %w", name, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// outputs gathers results and dead letters from plain subscriptions.
type outputs struct {
	mu      sync.Mutex
	results []schemas.Result
	dead    []schemas.DeadLetter
	subs    []*nats.Subscription
	arrived chan struct{}
}

func collect(nc *nats.Conn) *outputs {
	o := &outputs{arrived: make(chan struct{}, 1)}
	add := func(fn func(data []byte)) nats.MsgHandler {
		return func(m *nats.Msg) {
			o.mu.Lock()
			fn(m.Data)
			o.mu.Unlock()
			select {
			case o.arrived <- struct{}{}:
			default:
			}
		}
	}
	for subject, fn := range map[string]func([]byte){
		"predictions.>": func(b []byte) {
			var r schemas.Result
			if json.Unmarshal(b, &r) == nil {
				o.results = append(o.results, r)
			}
		},
		"deadletters.>": func(b []byte) {
			var d schemas.DeadLetter
			if json.Unmarshal(b, &d) == nil {
				o.dead = append(o.dead, d)
			}
		},
	} {
		if sub, err := nc.Subscribe(subject, add(fn)); err == nil {
			o.subs = append(o.subs, sub)
		}
	}
	return o
}

// wait returns once n outputs have arrived.
func (o *outputs) wait(ctx context.Context, n int) ([]schemas.Result, []schemas.DeadLetter, error) {
	for {
		o.mu.Lock()
		done := len(o.results)+len(o.dead) >= n
		o.mu.Unlock()
		if done {
			o.mu.Lock()
			defer o.mu.Unlock()
			return o.results, o.dead, nil
		}
		select {
		case <-o.arrived:
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("waiting for %d outputs: %w", n, ctx.Err())
		}
	}
}

func (o *outputs) stop() {
	for _, s := range o.subs {
		_ = s.Unsubscribe()
	}
}
