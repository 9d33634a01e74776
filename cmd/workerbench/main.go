package main

import (
	"context"
	"encoding/json"
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

func main() {
	serveIfAsked()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// sizes are the lengths of the scenarios.
type sizes struct {
	Events        int           // backlog drained by the ceiling and throughput runs
	Rounds        int           // throughput runs of each kind; the median counts
	QuotaWindow   time.Duration // measuring window of the quota run
	LatencyRun    time.Duration // how long the light load lasts
	Backlogs      []int         // backlogs of the memory runs, small then large
	NaiveRun      time.Duration // how long each naive loop runs at most
	SweepWindow   time.Duration // measuring window of each sweep point
	SweepLatency  time.Duration // light load of each sweep point
	SweepWaits    []time.Duration
	SweepInflight []int
	// DeployedEvents is the backlog of each as-deployed round; that
	// scenario runs Rounds rounds too.
	DeployedEvents int
	// FleetEvents is the backlog of the fleet quota scenario (as
	// deployed), FleetWindow its measuring window.
	FleetEvents  int
	FleetWindow  time.Duration
	DupEvents    int           // backlog of the duplicate-images run, half of it repeats
	HitEvents    int           // backlog of the cache-hit path
	ModelsWindow time.Duration // how long the several-models run lasts after its first result
	// PhotoWidth×PhotoHeight is the phone photo prepared PhotoRounds
	// times with each setting.
	PhotoWidth, PhotoHeight, PhotoRounds int
}

var (
	fullSizes = sizes{
		Events: 150000, Rounds: 3, QuotaWindow: 8 * time.Second, LatencyRun: 10 * time.Second,
		Backlogs: []int{10000, 100000}, NaiveRun: 3 * time.Second,
		SweepWindow: 2 * time.Second, SweepLatency: 4 * time.Second,
		SweepWaits:     []time.Duration{10 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond},
		SweepInflight:  []int{1, 2, 4, 8},
		DeployedEvents: 100000, FleetEvents: 80000, FleetWindow: 4 * time.Second,
		DupEvents: 12000, HitEvents: 100000, ModelsWindow: 4 * time.Second,
		PhotoWidth: 4032, PhotoHeight: 3024, PhotoRounds: 8,
	}
	quickSizes = sizes{
		Events: 5000, Rounds: 1, QuotaWindow: 2 * time.Second, LatencyRun: 2 * time.Second,
		Backlogs: []int{1000, 10000}, NaiveRun: time.Second,
		SweepWindow: 700 * time.Millisecond, SweepLatency: time.Second,
		SweepWaits:     fullSizes.SweepWaits,
		SweepInflight:  fullSizes.SweepInflight,
		DeployedEvents: 10000, FleetEvents: 40000, FleetWindow: 2 * time.Second,
		DupEvents: 6000, HitEvents: 5000, ModelsWindow: 2 * time.Second,
		PhotoWidth: 4032, PhotoHeight: 3024, PhotoRounds: 2,
	}
)

// Modes: the worker in the bench's own process with the server, as
// deployed (three processes), or both.
const (
	modeAll       = "all"
	modeInProcess = "in-process"
	modeDeployed  = "deployed"
)

// defaultVariants are the settings the as-deployed scenario tries besides
// the default, to show where the worker's CPU goes: Go's own GC target
// instead of the worker's 400, no idempotency records (one KV write and
// one lookup less per event), and neither records nor cache nor the
// fleet quota's KV schedule.
const defaultVariants = "GOGC=100; WORKER_IDEMPOTENCY_TTL=0; WORKER_IDEMPOTENCY_TTL=0 WORKER_CACHE_TTL=0 CLARIFAI_QUOTA_MODE=local"

// options are the command line settings.
type options struct {
	jsonOut       bool
	save          string
	chart         string
	cpuprofile    string
	latency       time.Duration // fake call latency
	rate          float64       // quota, calls/s
	lightRate     float64       // events/s of the light load
	sizes         sizes
	mode          string
	variants      []variant // extra worker settings of the as-deployed scenario
	workerProfile string    // CPU profile of the worker process, as deployed
}

func (o options) inProcess() bool { return o.mode != modeDeployed }
func (o options) deployed() bool  { return o.mode != modeInProcess }

func parse(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("workerbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	quick := fs.Bool("quick", false, "small sizes: a smoke run of under a minute")
	events := fs.Int("events", 0, "events of each in-process throughput run (default 150000, 5000 with --quick)")
	deployedEvents := fs.Int("deployed-events", 0, "events of each as-deployed round (default 100000, 10000 with --quick)")
	variants := fs.String("variants", defaultVariants,
		"extra worker settings of the as-deployed scenario: ';' between variants, each a space-separated list of NAME=VALUE environment variables")
	fs.StringVar(&o.mode, "mode", modeAll, "scenarios to run: all, in-process or deployed")
	fs.StringVar(&o.workerProfile, "worker-cpuprofile", "",
		"write a CPU profile of the worker process (as deployed, from WORKER_PPROF_ADDR) to this file")
	fs.BoolVar(&o.jsonOut, "json", false, "print the report as JSON instead of a table")
	fs.StringVar(&o.save, "save", "", "also write the report as JSON to this file")
	fs.StringVar(&o.chart, "chart", "", "write the sweep chart as SVG to this file (in-process scenarios)")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the in-process worker throughput run to this file")
	fs.DurationVar(&o.latency, "latency", 150*time.Millisecond, "latency of every fake Clarifai call")
	fs.Float64Var(&o.rate, "rate", 15, "Clarifai quota in calls/s (CLARIFAI_RATE_LIMIT)")
	fs.Float64Var(&o.lightRate, "light-rate", 20, "events/s of the light load for the latency figures")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.rate <= 0 || o.lightRate <= 0 || o.latency < 0 {
		return o, errors.New("--rate and --light-rate must be positive, --latency not negative")
	}
	switch o.mode {
	case modeAll, modeInProcess, modeDeployed:
	default:
		return o, fmt.Errorf("--mode %q: want %s, %s or %s", o.mode, modeAll, modeInProcess, modeDeployed)
	}
	var err error
	if o.variants, err = parseVariants(*variants); err != nil {
		return o, fmt.Errorf("--variants: %w", err)
	}
	if o.chart != "" && !o.inProcess() {
		return o, errors.New("--chart draws the in-process sweep: not with --mode deployed")
	}
	o.sizes = fullSizes
	if *quick {
		o.sizes = quickSizes
	}
	if *events > 0 {
		o.sizes.Events = *events
	}
	if *deployedEvents > 0 {
		o.sizes.DeployedEvents = *deployedEvents
	}
	return o, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "workerbench:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := zerolog.New(zerolog.ConsoleWriter{Out: stderr, TimeFormat: time.TimeOnly}).
		Level(zerolog.WarnLevel).With().Timestamp().Logger()
	rep, err := measure(ctx, o, log, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "workerbench:", err)
		return 1
	}
	if o.chart != "" {
		if err := drawChart(o.chart, rep); err != nil {
			fmt.Fprintln(stderr, "workerbench:", err)
			return 1
		}
	}
	if o.save != "" {
		if err := saveJSON(o.save, rep); err != nil {
			fmt.Fprintln(stderr, "workerbench:", err)
			return 1
		}
	}
	if o.jsonOut {
		err = writeJSON(stdout, rep)
	} else {
		err = rep.table(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "workerbench:", err)
		return 1
	}
	return 0
}

func writeJSON(w io.Writer, rep *report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func saveJSON(path string, rep *report) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("save report: %w", err)
	}
	if err := writeJSON(f, rep); err != nil {
		f.Close()
		return fmt.Errorf("save report: %w", err)
	}
	return f.Close()
}
