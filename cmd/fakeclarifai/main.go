package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"

	pb "github.com/imgpredict/worker/predictor/clarifai/clarifaipb"
	sc "github.com/imgpredict/worker/predictor/clarifai/clarifaipb/statuspb"
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
	listen := fs.String("listen", cmp.Or(getenv("FAKE_CLARIFAI_LISTEN"), ":50051"), "address to serve gRPC on (FAKE_CLARIFAI_LISTEN)")
	latency := fs.String("latency", cmp.Or(getenv("FAKE_CLARIFAI_LATENCY"), "0s"), "least time every call takes (FAKE_CLARIFAI_LATENCY)")
	pat := fs.String("pat", getenv("FAKE_CLARIFAI_PAT"), "PAT that calls must carry; empty = any (FAKE_CLARIFAI_PAT)")
	masks := fs.String("masks", getenv("FAKE_CLARIFAI_MASKS"), "MODEL:NxBYTES answers MODEL with N noise PNG masks of about BYTES each (FAKE_CLARIFAI_MASKS)")
	quotaFlag := fs.Int("quota", atoi(getenv("FAKE_CLARIFAI_QUOTA")), "throttle (11005) every call beyond this many in any one second, as an account quota; 0 = none (FAKE_CLARIFAI_QUOTA)")
	admin := fs.String("admin", getenv("FAKE_CLARIFAI_ADMIN"), "address of an HTTP endpoint for tests: GET /stats, POST /outage?code=N (0 ends it) (FAKE_CLARIFAI_ADMIN)")
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
	if *quotaFlag > 0 {
		fake.EnforceQuota(*quotaFlag)
	}
	if *masks != "" {
		model, data, err := maskPayload(*masks)
		if err != nil {
			return fmt.Errorf("FAKE_CLARIFAI_MASKS %q: %w", *masks, err)
		}
		fake.SetPayload(model, data)
	}

	if *admin != "" {
		stop, err := serveAdmin(*admin, fake)
		if err != nil {
			return fmt.Errorf("FAKE_CLARIFAI_ADMIN %s: %w", *admin, err)
		}
		defer stop()
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

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// serveAdmin lets a test see what the fake was asked and script an
// account outage: every call answered with one status code.
func serveAdmin(addr string, fake *clarifaitest.Server) (func(), error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `{"calls":%d,"inputs":%d,"throttled":%d}`, fake.Calls(), fake.Inputs(), fake.QuotaThrottled())
	})
	mux.HandleFunc("POST /outage", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.URL.Query().Get("code"))
		if err != nil {
			http.Error(w, "code must be a number", http.StatusBadRequest)
			return
		}
		fake.SetOutage(sc.StatusCode(code))
	})
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(lis) }()
	return func() { _ = srv.Close() }, nil
}

// maskPayload parses MODEL:NxBYTES into a segmenter's answer: N regions,
// each with a PNG of random grey pixels, which does not compress, so each
// mask is about BYTES large.
func maskPayload(spec string) (string, *pb.Data, error) {
	model, shape, ok := strings.Cut(spec, ":")
	var n, size int
	if _, err := fmt.Sscanf(shape, "%dx%d", &n, &size); !ok || err != nil || n < 1 || size < 1 {
		return "", nil, errors.New("want MODEL:NxBYTES, e.g. general-image-recognition:24x49152")
	}
	side := int(math.Sqrt(float64(size)))
	img := image.NewGray(image.Rect(0, 0, side, side))
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = byte(rnd.IntN(256))
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", nil, err
	}
	d := &pb.Data{}
	for i := range n {
		d.Regions = append(d.Regions, &pb.Region{
			Id:         fmt.Sprintf("mask-%d", i),
			Value:      0.8,
			RegionInfo: &pb.RegionInfo{Mask: &pb.Mask{Image: &pb.Image{Base64: buf.Bytes()}}},
			Data:       &pb.Data{Concepts: []*pb.Concept{{Id: fmt.Sprintf("segment-%d", i), Name: fmt.Sprintf("segment %d", i), Value: 0.8}}},
		})
	}
	return model, d, nil
}
