package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/rs/zerolog"

	"github.com/imgpredict/worker/predictor"
)

// Goals of issues 6 and 10.4.
const (
	goalWorkerRatio   = 0.8
	goalQuotaRatio    = 0.95
	goalInputsPerCall = 127
	// goalInputsPerEvent: each distinct image of the duplicate-images
	// run, half its events, is predicted once.
	goalInputsPerEvent = 0.5
)

// report is everything one run measured.
type report struct {
	Machine   machine    `json:"machine"`
	Settings  settings   `json:"settings"`
	InProcess *inProcess `json:"in_process,omitempty"`
	Deployed  *deployed  `json:"deployed,omitempty"`
	Seconds   float64    `json:"seconds"`
}

// inProcess are the figures of the scenarios that run the worker in the
// bench's process, beside the server.
type inProcess struct {
	Ceiling    throughput    `json:"broker_ceiling"`
	Worker     throughput    `json:"worker_instant"`
	WorkerFake throughput    `json:"worker_fake_0ms"`
	Quota      quota         `json:"quota"`
	Latency    latencies     `json:"latency"`
	Memory     []memoryRun   `json:"memory"`
	Naive      naive         `json:"naive"`
	Duplicates duplicates    `json:"duplicate_images"`
	Models     severalModels `json:"several_models"`
	Photos     photos        `json:"phone_photo"`
	Sweep      []sweepPoint  `json:"sweep"`
}

type settings struct {
	FakeLatencyMs float64 `json:"fake_latency_ms"`
	RateLimit     float64 `json:"rate_limit_calls_per_s"`
	QuotaCeiling  float64 `json:"quota_ceiling_images_per_s"`
	BatchSize     int     `json:"batch_size"`
	BatchWaitMs   float64 `json:"batch_wait_ms"`
	MaxInflight   int     `json:"max_inflight"`
	ResultBytes   int     `json:"result_bytes"`
	FileStorage   bool    `json:"file_storage"`
	Rounds        int     `json:"throughput_rounds"`
}

type quota struct {
	ImagesPerS    float64 `json:"images_per_s"`
	Ratio         float64 `json:"ratio_to_quota"`
	InputsPerCall float64 `json:"mean_inputs_per_call"`
	Calls         int     `json:"calls"`
	PartialCalls  int     `json:"partial_calls"`
}

type naive struct {
	InstantPerS float64 `json:"instant_events_per_s"`
	FakePerS    float64 `json:"fake_events_per_s"`
	// Speedups are the batched worker's rates over the naive ones.
	InstantSpeedup float64 `json:"instant_speedup"`
	FakeSpeedup    float64 `json:"fake_speedup"`
}

// sweepPoint is one setting of WORKER_BATCH_WAIT or WORKER_MAX_INFLIGHT.
type sweepPoint struct {
	Setting     string  `json:"setting"`
	BatchWaitMs float64 `json:"batch_wait_ms"`
	MaxInflight int     `json:"max_inflight"`
	ImagesPerS  float64 `json:"images_per_s"`
	Ratio       float64 `json:"ratio_to_quota"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
}

// step announces a scenario on stderr, so that a long run shows progress.
type step struct {
	w     io.Writer
	start time.Time
}

func (s step) say(format string, args ...any) {
	fmt.Fprintf(s.w, "[%5.1fs] %s\n", time.Since(s.start).Seconds(), fmt.Sprintf(format, args...))
}

func measure(ctx context.Context, o options, log zerolog.Logger, progress io.Writer) (*report, error) {
	st := step{w: progress, start: time.Now()}
	def := workerConfig()
	body, err := resultSized()
	if err != nil {
		return nil, err
	}
	rep := &report{Machine: describeMachine(), Settings: settings{
		FakeLatencyMs: ms(o.latency), RateLimit: o.rate, QuotaCeiling: o.rate * predictor.MaxInputsPerCall,
		BatchSize: def.BatchSize, BatchWaitMs: ms(def.BatchWait), MaxInflight: def.MaxInflight,
		ResultBytes: len(body), FileStorage: true, Rounds: o.sizes.Rounds,
	}}
	if o.inProcess() {
		if rep.InProcess, err = measureInProcess(ctx, o, rep.Settings, log, st); err != nil {
			return nil, err
		}
	}
	if o.deployed() {
		if rep.Deployed, err = measureDeployed(ctx, o, log, st); err != nil {
			return nil, fmt.Errorf("as deployed: %w", err)
		}
	}
	rep.Machine.LoadEnd = loadAverage()
	rep.Seconds = time.Since(st.start).Seconds()
	st.say("done")
	return rep, nil
}

// measureInProcess runs the scenarios with the worker in this process,
// on an in-process server.
func measureInProcess(ctx context.Context, o options, set settings, log zerolog.Logger, st step) (*inProcess, error) {
	sz := o.sizes
	quotaCeiling := set.QuotaCeiling
	b, err := newBench(ctx, log)
	if err != nil {
		return nil, err
	}
	defer b.close()
	rep := &inProcess{}

	st.say("1, 2. broker ceiling and worker throughput, %d events, median of %d rounds", sz.Events, sz.Rounds)
	var ceil, inst, fast []throughput
	for i := range sz.Rounds {
		t, err := b.ceiling(ctx, sz.Events)
		if err != nil {
			return nil, fmt.Errorf("broker ceiling: %w", err)
		}
		ceil = append(ceil, t)
		profile := ""
		if i == 0 {
			profile = o.cpuprofile
		}
		if t, err = b.drain(ctx, instant{}, workerConfig(), sz.Events, profile); err != nil {
			return nil, fmt.Errorf("worker throughput: %w", err)
		}
		inst = append(inst, t)
		err = withFake(0, 1e6, log, func(f *fake) (err error) {
			t, err = b.drain(ctx, f.client, workerConfig(), sz.Events, "")
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("worker throughput, fake: %w", err)
		}
		fast = append(fast, t)
	}
	rep.Ceiling, rep.Worker, rep.WorkerFake = median(ceil), median(inst), median(fast)
	rep.Worker.RatioToCeiling = rep.Worker.EventsPerS / rep.Ceiling.EventsPerS
	rep.WorkerFake.RatioToCeiling = rep.WorkerFake.EventsPerS / rep.Ceiling.EventsPerS

	st.say("3. quota efficiency, %s window", sz.QuotaWindow)
	err = withFake(o.latency, o.rate, log, func(f *fake) error {
		rate, err := b.backlogRate(ctx, f.client, workerConfig(), backlogFor(quotaCeiling, sz.QuotaWindow), sz.QuotaWindow)
		rep.Quota = quota{ImagesPerS: rate, Ratio: rate / quotaCeiling}
		rep.Quota.InputsPerCall, rep.Quota.Calls, rep.Quota.PartialCalls = f.inputsPerCall()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("quota efficiency: %w", err)
	}

	st.say("4. latency at %g events/s for %s", o.lightRate, sz.LatencyRun)
	err = withFake(o.latency, o.rate, log, func(f *fake) (err error) {
		rep.Latency, err = b.lightLoad(ctx, f.client, workerConfig(), o.lightRate, sz.LatencyRun)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("latency: %w", err)
	}

	for _, n := range sz.Backlogs {
		st.say("5. memory with a backlog of %d events", n)
		m, err := b.memory(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("memory, backlog %d: %w", n, err)
		}
		rep.Memory = append(rep.Memory, m)
	}

	st.say("6. naive loop, instant predictor and fake at %s", o.latency)
	if rep.Naive.InstantPerS, err = b.naive(ctx, instant{}, sz.Events, sz.NaiveRun); err != nil {
		return nil, fmt.Errorf("naive, instant: %w", err)
	}
	err = withFake(o.latency, o.rate, log, func(f *fake) (err error) {
		n := int(sz.NaiveRun.Seconds()*min(o.rate, 1/max(o.latency.Seconds(), 1e-3))) + 10
		rep.Naive.FakePerS, err = b.naive(ctx, f.client, n, sz.NaiveRun)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("naive, fake: %w", err)
	}
	rep.Naive.InstantSpeedup = rep.Worker.EventsPerS / rep.Naive.InstantPerS
	rep.Naive.FakeSpeedup = rep.Quota.ImagesPerS / rep.Naive.FakePerS

	st.say("7. duplicate images: %d events, half of them repeats, with the memo; then %d cache hits", sz.DupEvents, sz.HitEvents)
	err = withFake(o.latency, o.rate, log, func(f *fake) error {
		return withFake(o.latency, o.rate, log, func(hf *fake) (err error) {
			rep.Duplicates, err = b.duplicateImages(ctx, f, hf, sz.DupEvents, sz.HitEvents)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("duplicate images: %w", err)
	}
	rep.Duplicates.HitPath.RatioToCeiling = rep.Duplicates.HitPath.EventsPerS / rep.Ceiling.EventsPerS

	st.say("8. several models: a third of the events ask 3 models, %s window", sz.ModelsWindow)
	err = withFake(o.latency, o.rate, log, func(f *fake) (err error) {
		rep.Models, err = b.severalModels(ctx, f, backlogFor(quotaCeiling, sz.ModelsWindow), sz.ModelsWindow)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("several models: %w", err)
	}
	rep.Models.Ratio = rep.Models.ImagesPerS / quotaCeiling

	st.say("9. a %dx%d phone photo prepared %d times per setting", sz.PhotoWidth, sz.PhotoHeight, sz.PhotoRounds)
	if rep.Photos, err = preparePhotos(sz.PhotoWidth, sz.PhotoHeight, sz.PhotoRounds); err != nil {
		return nil, fmt.Errorf("phone photo: %w", err)
	}

	var points []sweepPoint
	for _, w := range sz.SweepWaits {
		points = append(points, sweepPoint{Setting: "batch_wait", BatchWaitMs: ms(w), MaxInflight: set.MaxInflight})
	}
	for _, n := range sz.SweepInflight {
		points = append(points, sweepPoint{Setting: "max_inflight", BatchWaitMs: set.BatchWaitMs, MaxInflight: n})
	}
	for _, p := range points {
		st.say("sweep: batch wait %gms, max inflight %d", p.BatchWaitMs, p.MaxInflight)
		cfg := workerConfig()
		cfg.BatchWait = time.Duration(p.BatchWaitMs * float64(time.Millisecond))
		cfg.MaxInflight = p.MaxInflight
		err := withFake(o.latency, o.rate, log, func(f *fake) error {
			rate, err := b.backlogRate(ctx, f.client, cfg, backlogFor(quotaCeiling, sz.SweepWindow), sz.SweepWindow)
			if err != nil {
				return err
			}
			p.ImagesPerS, p.Ratio = rate, rate/quotaCeiling
			return nil
		})
		if err == nil {
			err = withFake(o.latency, o.rate, log, func(f *fake) error {
				lat, err := b.lightLoad(ctx, f.client, cfg, o.lightRate, sz.SweepLatency)
				p.P50ms, p.P99ms = lat.P50ms, lat.P99ms
				return err
			})
		}
		if err != nil {
			return nil, fmt.Errorf("sweep %s: %w", p.Setting, err)
		}
		rep.Sweep = append(rep.Sweep, p)
	}
	return rep, nil
}

// backlogFor is a backlog the worker cannot finish within window (plus
// start-up) at the quota ceiling.
func backlogFor(quotaCeiling float64, window time.Duration) int {
	return int(quotaCeiling*(window.Seconds()+3)) + predictor.MaxInputsPerCall
}

// median is the run with the median rate; rounds alternate between the
// loops, so that a passing load on the machine hits them alike.
func median(runs []throughput) throughput {
	slices.SortFunc(runs, func(a, b throughput) int { return cmp.Compare(a.EventsPerS, b.EventsPerS) })
	return runs[len(runs)/2]
}

func withFake(latency time.Duration, rate float64, log zerolog.Logger, fn func(*fake) error) error {
	f, err := newFake(latency, rate, log)
	if err != nil {
		return err
	}
	defer f.close()
	return fn(f)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
