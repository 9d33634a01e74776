package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"google.golang.org/grpc"

	pb "github.com/imgpredict/worker/predictor/clarifai/clarifaipb"
	"github.com/imgpredict/worker/predictor/clarifai/clarifaitest"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr, os.Getenv)) }

func run(args []string, stderr io.Writer, getenv func(string) string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, args, stderr, getenv); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stderr, "fakeclarifai:", err)
		return 1
	}
	return 0
}

func serve(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("fakeclarifai", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", or(getenv("FAKE_CLARIFAI_LISTEN"), ":50051"), "address to serve gRPC on (FAKE_CLARIFAI_LISTEN)")
	latency := fs.String("latency", or(getenv("FAKE_CLARIFAI_LATENCY"), "0s"), "least time every call takes (FAKE_CLARIFAI_LATENCY)")
	pat := fs.String("pat", getenv("FAKE_CLARIFAI_PAT"), "PAT that calls must carry; empty = any (FAKE_CLARIFAI_PAT)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	d, err := time.ParseDuration(*latency)
	if err != nil {
		return fmt.Errorf("FAKE_CLARIFAI_LATENCY %q: %w", *latency, err)
	}

	// The fake also listens on its own loopback port, which stays unused:
	// calls arrive through this server, which can listen on any address.
	fake := clarifaitest.NewServer()
	defer fake.Close()
	fake.SetLatency(d)
	if *pat != "" {
		fake.RequirePAT(*pat)
	}

	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("FAKE_CLARIFAI_LISTEN %s: %w", *listen, err)
	}
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(64 << 20))
	pb.RegisterV2Server(srv, fake)
	go func() {
		<-ctx.Done()
		srv.GracefulStop()
	}()
	fmt.Fprintf(stderr, "fakeclarifai: serving on %s, latency %s\n", lis.Addr(), d)
	if err := srv.Serve(lis); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	fmt.Fprintf(stderr, "fakeclarifai: stopped after %d calls, %d inputs\n", fake.Calls(), fake.Inputs())
	return nil
}

func or(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
