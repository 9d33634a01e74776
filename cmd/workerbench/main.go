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

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

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
}

var (
	fullSizes = sizes{
		Events: 150000, Rounds: 3, QuotaWindow: 8 * time.Second, LatencyRun: 10 * time.Second,
		Backlogs: []int{10000, 100000}, NaiveRun: 3 * time.Second,
		SweepWindow: 2 * time.Second, SweepLatency: 4 * time.Second,
		SweepWaits:    []time.Duration{10 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond},
		SweepInflight: []int{1, 2, 4, 8},
	}
	quickSizes = sizes{
		Events: 5000, Rounds: 1, QuotaWindow: 2 * time.Second, LatencyRun: 2 * time.Second,
		Backlogs: []int{1000, 10000}, NaiveRun: time.Second,
		SweepWindow: 700 * time.Millisecond, SweepLatency: time.Second,
		SweepWaits:    fullSizes.SweepWaits,
		SweepInflight: fullSizes.SweepInflight,
	}
)

// options are the command line settings.
type options struct {
	jsonOut    bool
	save       string
	chart      string
	cpuprofile string
	latency    time.Duration // fake call latency
	rate       float64       // quota, calls/s
	lightRate  float64       // events/s of the light load
	sizes      sizes
}

func parse(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("workerbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	quick := fs.Bool("quick", false, "small sizes: a smoke run of under a minute")
	events := fs.Int("events", 0, "events of each throughput run (default 150000, 5000 with --quick)")
	fs.BoolVar(&o.jsonOut, "json", false, "print the report as JSON instead of a table")
	fs.StringVar(&o.save, "save", "", "also write the report as JSON to this file")
	fs.StringVar(&o.chart, "chart", "", "write the sweep chart as SVG to this file")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the worker throughput run to this file")
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
	o.sizes = fullSizes
	if *quick {
		o.sizes = quickSizes
	}
	if *events > 0 {
		o.sizes.Events = *events
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
