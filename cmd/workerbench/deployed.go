package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/imgpredict/worker/internal/ctxtime"
)

// eventMetadata is the small metadata of every as-deployed event; the
// worker copies it into the result.
const eventMetadata = `{"tenant":"acme","upload":"u-7f3c9a2e"}`

// deployed are the figures of the as-deployed scenario: the worker binary
// in a process of its own, configured by environment variables, the NATS
// server in another, the fake Clarifai in the bench's, over gRPC.
type deployed struct {
	Events            int    `json:"events_per_round"`
	Rounds            int    `json:"rounds"`
	Metadata          string `json:"event_metadata"`
	CeilingBytes      int    `json:"ceiling_result_bytes"`
	WorkerResultBytes int    `json:"worker_result_bytes"`
	Ceiling           runs   `json:"ceiling"`
	// Workers are the worker with its default settings, then each variant.
	Workers []runs `json:"workers"`
	// Profile is where the worker's CPU profile went, or why there is none.
	Profile string `json:"worker_profile,omitempty"`
	// Fleet is the fleet quota scenario.
	Fleet fleetQuota `json:"fleet_quota"`
}

// runs are the rounds of one loop and the median of each figure.
type runs struct {
	Name   string         `json:"name"`
	Env    []string       `json:"env,omitempty"`
	Median roundFigures   `json:"median"`
	Rounds []roundFigures `json:"rounds"`
}

// roundFigures is what one round measured, over the window from the first
// result stored to the last. CPU is per event, in µs, for each process:
// the bench's is the ceiling loop in ceiling rounds, and the fake Clarifai
// plus the observer in worker rounds.
type roundFigures struct {
	Events     float64 `json:"events"`
	Seconds    float64 `json:"seconds"`
	EventsPerS float64 `json:"events_per_s"`
	// RatioToCeiling is, for a round, against the ceiling round just
	// before it; for a median, the median rate over the ceiling's.
	RatioToCeiling float64 `json:"ratio_to_ceiling,omitempty"`
	WorkerCPUus    float64 `json:"worker_cpu_us_per_event"`
	ServerCPUus    float64 `json:"server_cpu_us_per_event"`
	BenchCPUus     float64 `json:"bench_cpu_us_per_event"`
	AllocsPerEvent float64 `json:"worker_allocs_per_event"`
	// GCFraction is the GC's CPU over GOMAXPROCS × wall time
	// (/cpu/classes/gc/total over /cpu/classes/total); GCShare is the
	// same over the time the runtime was not idle (total minus
	// /cpu/classes/idle). Both are the runtime's estimates, from the
	// time its Ps spend in each state, not CPU time from the kernel.
	GCFraction   float64 `json:"worker_gc_cpu_fraction"`
	GCShare      float64 `json:"worker_gc_share_of_cpu"`
	GCCycles     float64 `json:"worker_gc_cycles"`
	WorkerPeakMB float64 `json:"worker_peak_rss_mib"`
	ServerPeakMB float64 `json:"server_peak_rss_mib"`
}

// variant is an extra worker configuration: environment settings on top
// of the bench's.
type variant struct {
	Name string
	Env  []string
}

// parseVariants reads "A=1 B=2; C=3" as two variants.
func parseVariants(s string) ([]variant, error) {
	var vs []variant
	for part := range strings.SplitSeq(s, ";") {
		env := strings.Fields(part)
		if len(env) == 0 {
			continue
		}
		for _, kv := range env {
			if name, _, ok := strings.Cut(kv, "="); !ok || name == "" {
				return nil, fmt.Errorf("%q is not NAME=VALUE", kv)
			}
		}
		vs = append(vs, variant{Name: strings.Join(env, " "), Env: env})
	}
	return vs, nil
}

// deployment is the worker binary, the server process and the fake
// Clarifai, with the bench's connections to the server.
type deployment struct {
	b      *bench
	srv    *serverProcess
	bin    string
	fake   string // the fake Clarifai's host:port
	result []byte // the last result a worker stored
}

func measureDeployed(ctx context.Context, o options, log zerolog.Logger, st step) (*deployed, error) {
	n, rounds := o.sizes.DeployedEvents, o.sizes.Rounds
	st.say("as deployed: building the worker, starting the NATS server process and the fake Clarifai")
	dir, err := os.MkdirTemp("", "workerbench-deployed-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	d := &deployment{}
	if d.bin, err = buildWorker(ctx, dir); err != nil {
		return nil, err
	}
	if d.srv, err = startServerProcess(ctx, filepath.Join(dir, "nats")); err != nil {
		return nil, err
	}
	defer d.srv.close()
	if d.b, err = connectBench(d.srv.url, log); err != nil {
		return nil, err
	}
	defer d.b.close()
	var stopFake func()
	d.fake, stopFake = serveFake()
	defer stopFake()

	// A warm-up round, not counted, gives the ceiling loop a result to
	// publish: a copy of one the worker stored.
	st.say("as deployed: warm-up round of the worker")
	if _, err := d.workerRound(ctx, min(n, 2000), nil, nil); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	body := d.result
	rep := &deployed{Events: n, Rounds: rounds, Metadata: eventMetadata, CeilingBytes: len(body)}
	configs := append([]variant{{Name: "default"}}, o.variants...)
	var ceil []roundFigures
	work := make([][]roundFigures, len(configs))
	for r := range rounds {
		st.say("as deployed, round %d of %d: ceiling loop, %d events", r+1, rounds, n)
		c, err := d.ceilingRound(ctx, n, body)
		if err != nil {
			return nil, fmt.Errorf("ceiling loop: %w", err)
		}
		ceil = append(ceil, c)
		for i, v := range configs {
			st.say("as deployed, round %d of %d: worker (%s)", r+1, rounds, v.Name)
			w, err := d.workerRound(ctx, n, v.Env, nil)
			if err != nil {
				return nil, fmt.Errorf("worker (%s): %w", v.Name, err)
			}
			w.RatioToCeiling = w.EventsPerS / c.EventsPerS
			work[i] = append(work[i], w)
		}
	}
	rep.Ceiling = runs{Name: "ceiling loop", Rounds: ceil, Median: medianRound(ceil)}
	for i, v := range configs {
		m := medianRound(work[i])
		m.RatioToCeiling = m.EventsPerS / rep.Ceiling.Median.EventsPerS
		rep.Workers = append(rep.Workers, runs{Name: v.Name, Env: v.Env, Rounds: work[i], Median: m})
	}
	rep.WorkerResultBytes = len(d.result)
	if o.workerProfile != "" {
		st.say("as deployed: profiling the worker process (default settings, one more round)")
		rep.Profile = d.profileRound(ctx, n, o.workerProfile, rep.Workers[0].Median.EventsPerS)
		st.say("worker profile: %s", rep.Profile)
	}
	st.say("as deployed: fleet quota, %d workers sharing %d calls/s, %d events", fleetReplicas, fleetCallsPerS, o.sizes.FleetEvents)
	if rep.Fleet, err = d.fleet(ctx, o.sizes.FleetEvents, o.sizes.FleetWindow); err != nil {
		return nil, fmt.Errorf("fleet quota: %w", err)
	}
	return rep, nil
}

// medianRound is the median of each figure over the rounds, taken figure
// by figure.
func medianRound(rs []roundFigures) roundFigures {
	var m roundFigures
	mv := reflect.ValueOf(&m).Elem()
	vals := make([]float64, len(rs))
	for i := range mv.NumField() {
		for j := range rs {
			vals[j] = reflect.ValueOf(rs[j]).Field(i).Float()
		}
		slices.Sort(vals)
		mv.Field(i).SetFloat(vals[len(vals)/2])
	}
	return m
}

// prepare gives a round fresh streams holding a backlog of n events, and
// starts the server's peak RSS afresh.
func (d *deployment) prepare(ctx context.Context, n int) error {
	if err := d.b.fresh(ctx); err != nil {
		return err
	}
	if err := d.b.publishBacklog(ctx, "deployed", n, eventMetadata); err != nil {
		return err
	}
	resetPeakRSS(d.srv.pid)
	return nil
}

// ceilingRound drains a backlog of n events with the ceiling loop, which
// publishes body as each result.
func (d *deployment) ceilingRound(ctx context.Context, n int, body []byte) (roundFigures, error) {
	if err := d.prepare(ctx, n); err != nil {
		return roundFigures{}, err
	}
	lctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	loop := make(chan error, 1)
	go func() {
		_, err := d.b.ceilingLoop(lctx, n, body)
		if err != nil {
			cancel(err)
		}
		loop <- err
	}()
	first, last, err := d.b.window(lctx, n, func(bool) (sample, error) { return d.sample(), nil })
	cancel(err)
	if loopErr := <-loop; loopErr != nil {
		return roundFigures{}, loopErr
	}
	if err != nil {
		return roundFigures{}, err
	}
	f := figures(first, last, false)
	f.ServerPeakMB = procStatus(d.srv.pid, "VmHWM")
	return f, nil
}

// roundHook is called once the first result of a round is stored; the
// round waits for what it returns before it stops the worker.
type roundHook func() (wait func())

// workerRound drains a backlog of n events with a worker process started
// with env on top of the bench's settings. hook may be nil.
func (d *deployment) workerRound(ctx context.Context, n int, env []string, hook roundHook) (roundFigures, error) {
	if err := d.prepare(ctx, n); err != nil {
		return roundFigures{}, err
	}
	w, err := d.startWorker(env)
	if err != nil {
		return roundFigures{}, err
	}
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-w.done:
			cancel(w.exitErr())
		case <-wctx.Done():
		}
	}()

	wait := func() {}
	snap := func(begin bool) (sample, error) {
		s := d.sample()
		if begin { // the process has just started: nothing used yet
			return s, nil
		}
		if hook != nil {
			wait, hook = hook(), nil
		}
		var err error
		if s.worker, err = procCPU(w.pid); err == nil {
			s.metrics, err = scrape(wctx, w.metricsAddr)
		}
		return s, err
	}
	first, last, err := d.b.window(wctx, n, snap)
	var f roundFigures
	if err == nil {
		f = figures(first, last, true)
		f.WorkerPeakMB = procStatus(w.pid, "VmHWM")
		f.ServerPeakMB = procStatus(d.srv.pid, "VmHWM")
		err = d.lastResult(ctx)
	}
	wait()
	cancel(nil)
	if stopErr := w.stop(); err == nil {
		err = stopErr
	}
	return f, err
}

// lastResult keeps the last result stored.
func (d *deployment) lastResult(ctx context.Context) error {
	msg, err := d.b.results.GetLastMsgForSubject(ctx, resultSubject)
	if err != nil {
		return fmt.Errorf("last result: %w", err)
	}
	d.result = msg.Data
	return nil
}

// profileRound runs one more worker round with default settings and
// takes a CPU profile of the worker process over most of its drain,
// which at rate events/s should last n/rate seconds. It returns where the
// profile went, or why there is none; a missing profile does not fail
// the run.
func (d *deployment) profileRound(ctx context.Context, n int, path string, rate float64) string {
	addr, err := freeAddr()
	if err != nil {
		return err.Error()
	}
	seconds := int(min(30, max(1, 0.8*float64(n)/rate)))
	fetchErr := errors.New("the round ended before its first result")
	start := func() func() {
		done := make(chan error, 1)
		go func() { done <- fetchProfile(ctx, addr, seconds, path) }()
		return func() { fetchErr = <-done }
	}
	_, err = d.workerRound(ctx, n, []string{"WORKER_PPROF_ADDR=" + addr}, start)
	switch {
	case fetchErr != nil:
		return "no profile: " + fetchErr.Error()
	case err != nil:
		return "no profile: the round failed: " + err.Error()
	}
	return fmt.Sprintf("%s (%d s from the first result on)", path, seconds)
}

// sample is what the bench reads at either end of a window.
type sample struct {
	at      time.Time
	stored  uint64
	server  time.Duration // CPU used so far by the server process
	bench   time.Duration // ... by this process
	worker  time.Duration // ... by the worker process
	metrics workerMetrics
}

func (d *deployment) sample() sample {
	s := sample{at: time.Now(), bench: selfCPU()}
	s.server, _ = procCPU(d.srv.pid)
	return s
}

// pollEvery is how often the observer counts results. Each count is one
// stream info request, the same load in every round.
const pollEvery = 5 * time.Millisecond

// window watches the results stream until it holds n results and samples
// at both ends of the drain. The window opens at the first result stored,
// which leaves out start-up (a process starting, binding the consumer,
// the first pull) that differs between the loops; when the first count
// already sees all n (tiny runs), it opens at the start. snap(true) is
// the sample at the start.
func (b *bench) window(ctx context.Context, n int, snap func(begin bool) (sample, error)) (first, last sample, err error) {
	begin, err := snap(true)
	if err != nil {
		return first, last, err
	}
	opened := false
	var seen uint64
	progress := time.Now()
	for {
		if ctxtime.Sleep(ctx, pollEvery) != nil {
			return first, last, context.Cause(ctx)
		}
		count, err := b.stored(ctx)
		if ctx.Err() != nil {
			return first, last, context.Cause(ctx)
		}
		if err != nil {
			return first, last, err
		}
		now := time.Now()
		if count != seen {
			seen, progress = count, now
		} else if now.Sub(progress) > 30*time.Second {
			return first, last, fmt.Errorf("results stuck at %d of %d for 30 s", count, n)
		}
		switch {
		case count >= uint64(n):
			if !opened {
				first = begin
			}
			last, err = snap(false)
			last.stored = count
			return first, last, err
		case count > 0 && !opened:
			if first, err = snap(false); err != nil {
				return first, last, err
			}
			first.stored, opened = count, true
		}
	}
}

// figures are the rates and costs of the window from first to last.
func figures(first, last sample, worker bool) roundFigures {
	events := float64(last.stored - first.stored)
	secs := last.at.Sub(first.at).Seconds()
	perEvent := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) / events }
	f := roundFigures{
		Events: events, Seconds: secs, EventsPerS: events / secs,
		ServerCPUus: perEvent(last.server - first.server),
		BenchCPUus:  perEvent(last.bench - first.bench),
	}
	if !worker {
		return f
	}
	m0, m1 := first.metrics, last.metrics
	gc := m1.gcCPU - m0.gcCPU
	f.WorkerCPUus = perEvent(last.worker - first.worker)
	f.AllocsPerEvent = (m1.mallocs - m0.mallocs) / events
	total := m1.totalCPU - m0.totalCPU
	if total > 0 {
		f.GCFraction = gc / total
	}
	if busy := total - (m1.idleCPU - m0.idleCPU); busy > 0 {
		f.GCShare = gc / busy
	}
	f.GCCycles = m1.gcCycles - m0.gcCycles
	return f
}
