package quota_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/predictor/clarifai"
	"github.com/imgpredict/worker/quota"
)

// The benchmark runs each replica as a copy of the test binary, so that
// it can be killed and frozen (SIGKILL, SIGSTOP) like a worker process.
// These variables tell the copy what to do.
const (
	envReplica  = "QUOTA_BENCH_REPLICA"  // the replica's name; set only in a copy
	envNATS     = "QUOTA_BENCH_NATS"     // NATS server URL
	envClarifai = "QUOTA_BENCH_CLARIFAI" // fake Clarifai host:port
	envRate     = "QUOTA_BENCH_RATE"     // the account's calls per second
)

// Every call carries the replica's name and the time it was sent, so that
// the fake's record tells the replicas apart and shows the delay on the way.
const (
	replicaHeader = "x-bench-replica"
	sentHeader    = "x-bench-sent" // Unix ns
)

func TestMain(m *testing.M) {
	if name := os.Getenv(envReplica); name != "" {
		if err := runReplica(name); err != nil {
			fmt.Fprintln(os.Stderr, "replica", name+":", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runReplica is one worker under backlog: a Fleet limiter, a Clarifai
// client on it, and calls of 128 inputs started as the worker's
// dispatcher does (at most 8 in flight, each after Ready). It stops
// cleanly on SIGTERM, leaving the group.
func runReplica(name string) error {
	rate, err := strconv.ParseFloat(os.Getenv(envRate), 64)
	if err != nil {
		return fmt.Errorf("%s: %w", envRate, err)
	}
	log := zerolog.New(os.Stderr).Level(zerolog.InfoLevel).With().Str("replica", name).Logger()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()

	nc, err := nats.Connect(os.Getenv(envNATS))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	reg := prometheus.NewRegistry()
	fleet, err := quota.NewFleet(js, quota.FleetConfig{Group: "bench", RateLimit: rate, MemberID: name}, log, reg)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	defer printCounters(reg)
	defer wg.Wait()
	wg.Go(func() { _ = fleet.Run(ctx) })

	tag := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoke grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		ctx = metadata.AppendToOutgoingContext(ctx, replicaHeader, name, sentHeader, strconv.FormatInt(time.Now().UnixNano(), 10))
		return invoke(ctx, method, req, reply, cc, opts...)
	}
	client, err := clarifai.NewClient(clarifai.ClientConfig{
		Endpoint: os.Getenv(envClarifai), Insecure: true, PAT: "bench", RateLimit: rate, Limiter: fleet,
	}, log, grpc.WithUnaryInterceptor(tag))
	if err != nil {
		return err
	}
	defer client.Close()
	drive(ctx, client, 8)
	return nil
}

// printCounters writes the Fleet's counters to stderr, which the
// benchmark shows.
func printCounters(g prometheus.Gatherer) {
	mfs, err := g.Gather()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gather:", err)
		return
	}
	for _, mf := range mfs {
		if c := mf.GetMetric()[0].GetCounter(); c != nil {
			fmt.Fprintf(os.Stderr, "%s %g\n", mf.GetName(), c.GetValue())
		}
	}
}

// drive keeps up to inflight calls of a full batch going until ctx ends.
func drive(ctx context.Context, client *clarifai.Client, inflight int) {
	req := predictor.Request{
		Model:  predictor.Model{UserID: "clarifai", AppID: "main", ID: "general-image-recognition"},
		Inputs: make([]predictor.Input, predictor.MaxInputsPerCall),
	}
	for i := range req.Inputs {
		req.Inputs[i] = predictor.Input{ID: fmt.Sprintf("img-%03d", i), URL: fmt.Sprintf("https://img.example/%d.jpg", i)}
	}
	slots := make(chan struct{}, inflight)
	var calls sync.WaitGroup
	defer calls.Wait()
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		if client.Ready(ctx) != nil {
			return
		}
		calls.Go(func() {
			defer func() { <-slots }()
			client.Predict(ctx, req)
		})
	}
}
