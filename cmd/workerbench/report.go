package main

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"
)

// table prints the report: the in-process table of issue 6, then the
// as-deployed one of issue 14, then the machine.
func (r *report) table(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if r.InProcess != nil {
		r.InProcess.table(tw, r.Settings)
	}
	if r.Deployed != nil {
		r.Deployed.table(tw)
	}
	m := r.Machine
	fmt.Fprintf(tw, "machine: %d CPUs, %s, %s, %s; load average %s at start, %s at end; file storage; %.0f s\n",
		m.CPUs, m.CPUModel, m.GoVersion, m.OS, m.LoadStart, m.LoadEnd, r.Seconds)
	return tw.Flush()
}

func (r *inProcess) table(tw io.Writer, s settings) {
	fmt.Fprintf(tw, "in process: worker and NATS server in this process; %d-byte results; median of %d rounds\n", s.ResultBytes, s.Rounds)
	row := func(cols ...any) { fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", cols...) }
	row("#", "measure", "value", "against", "ratio", "goal")
	row("1", "broker ceiling (pull, publish result, ack)", rate(r.Ceiling.EventsPerS, "ev/s"), "-", "1.00", "-")
	row("2", "worker, instant predictor", rate(r.Worker.EventsPerS, "ev/s"), "ceiling", ratio(r.Worker.RatioToCeiling), goal(r.Worker.RatioToCeiling >= goalWorkerRatio, ">= 0.80"))
	row("2b", "worker, fake Clarifai over gRPC, 0 ms", rate(r.WorkerFake.EventsPerS, "ev/s"), "ceiling", ratio(r.WorkerFake.RatioToCeiling), "-")
	row("3", fmt.Sprintf("quota efficiency (%g ms calls, %g calls/s)", s.FakeLatencyMs, s.RateLimit), rate(r.Quota.ImagesPerS, "img/s"),
		rate(s.QuotaCeiling, "img/s"), ratio(r.Quota.Ratio), goal(r.Quota.Ratio >= goalQuotaRatio, ">= 0.95"))
	row("3b", "mean inputs per call under backlog", fmt.Sprintf("%.1f (%d calls, %d not full)", r.Quota.InputsPerCall, r.Quota.Calls, r.Quota.PartialCalls),
		"128", ratio(r.Quota.InputsPerCall/128), goal(r.Quota.InputsPerCall >= goalInputsPerCall, ">= 127"))
	ref := s.BatchWaitMs + s.FakeLatencyMs
	l := r.Latency
	row("4", fmt.Sprintf("latency p50/p95/p99 at %g ev/s (%d events)", l.EventsPerS, l.Events),
		fmt.Sprintf("%.0f / %.0f / %.0f ms", l.P50ms, l.P95ms, l.P99ms),
		fmt.Sprintf("wait+call %.0f ms", ref), ratio(l.P99ms/ref)+" (p99)", "-")
	row("5a", "CPU per event, worker run (whole process)", fmt.Sprintf("%.1f µs", r.Worker.CPUMicrosEvent),
		fmt.Sprintf("ceiling %.1f µs", r.Ceiling.CPUMicrosEvent), ratio(r.Worker.CPUMicrosEvent/r.Ceiling.CPUMicrosEvent), "-")
	row("5b", "allocations per event, worker run", fmt.Sprintf("%.0f", r.Worker.AllocsPerEvent),
		fmt.Sprintf("ceiling %.0f", r.Ceiling.AllocsPerEvent), ratio(r.Worker.AllocsPerEvent/r.Ceiling.AllocsPerEvent), "-")
	for i, m := range r.Memory {
		w, c := m.Worker, m.Ceiling
		row(fmt.Sprintf("5%c", 'c'+i), fmt.Sprintf("RSS draining %d backlog: before / peak / after", m.Backlog),
			fmt.Sprintf("%.0f / %.0f / %.0f MiB", w.BeforeMB, w.PeakMB, w.AfterMB),
			fmt.Sprintf("ceiling loop growth %.0f MiB", c.GrowthMB),
			fmt.Sprintf("%+.0f MiB", w.GrowthMB-c.GrowthMB), "bounded")
	}
	row("6a", "naive loop, instant predictor", rate(r.Naive.InstantPerS, "ev/s"), "worker (2)",
		fmt.Sprintf("x%.1f", r.Naive.InstantSpeedup), "-")
	row("6b", fmt.Sprintf("naive loop, fake at %g ms", s.FakeLatencyMs), rate(r.Naive.FakePerS, "ev/s"), "worker (3)",
		fmt.Sprintf("x%.0f", r.Naive.FakeSpeedup), "-")
	d := r.Duplicates
	row("7", fmt.Sprintf("inputs sent for 50 %% duplicate images, memo on (%d events)", d.Events),
		fmt.Sprintf("%d in %d calls", d.Inputs, d.Calls), fmt.Sprintf("%d events", d.Events), ratio(d.InputsPerEvent),
		goal(math.Abs(d.InputsPerEvent-goalInputsPerEvent) <= 0.01, "0.50 ± 0.01"))
	row("7b", "repeats saved: in the same call / another call in flight / from the cache", fmt.Sprintf("%d / %d / %d", d.SameCall, d.InFlight, d.CacheHits),
		fmt.Sprintf("%d repeats", d.Events-d.Images), ratio(float64(d.SameCall+d.InFlight+d.CacheHits)/float64(d.Events-d.Images)), "-")
	row("7c", fmt.Sprintf("cache-hit path, memo on (%d events, %d calls)", d.HitPath.Events, d.HitCalls), rate(d.HitPath.EventsPerS, "ev/s"),
		"ceiling", ratio(d.HitPath.RatioToCeiling), "-")
	row("7d", "CPU / allocations per event, cache-hit path", fmt.Sprintf("%.1f µs / %.0f", d.HitPath.CPUMicrosEvent, d.HitPath.AllocsPerEvent),
		fmt.Sprintf("worker (5a) %.1f µs", r.Worker.CPUMicrosEvent), ratio(d.HitPath.CPUMicrosEvent/r.Worker.CPUMicrosEvent), "-")
	m := r.Models
	row("8", "inputs per call, a third of events asking 3 models", fmt.Sprintf("%.1f (%d calls, %d not full)", m.InputsPerCall, m.Calls, m.PartialCalls),
		"128", ratio(m.InputsPerCall/128), goal(m.InputsPerCall >= goalInputsPerCall, ">= 127"))
	row("8b", "images/s, all models", rate(m.ImagesPerS, "img/s"), rate(s.QuotaCeiling, "img/s"), ratio(m.Ratio), "-")
	for i, sh := range m.Models {
		row(fmt.Sprintf("8%c", 'c'+i), "images/s, "+sh.Model, rate(sh.ImagesPerS, "img/s"), "all models", ratio(sh.ImagesPerS/m.ImagesPerS), "-")
	}
	ph := r.Photos
	mp := float64(ph.Width*ph.Height) / 1e6
	row("9", fmt.Sprintf("phone photo %.0f MP (orientation 6, %d bytes): rotate", mp, ph.Bytes),
		fmt.Sprintf("%.0f ms, %.1f img/s per core", ph.Rotate.MsPerImage, ph.Rotate.PerCore), "bytes out / in", ratio(ph.Rotate.OutOverIn), "-")
	row("9b", "phone photo: rotate + scale to 1024 px",
		fmt.Sprintf("%.0f ms, %.1f img/s per core", ph.Scaled.MsPerImage, ph.Scaled.PerCore), "bytes out / in", ratio(ph.Scaled.OutOverIn),
		goal(ph.Scaled.PerCore >= goalPhotosPerCore, fmt.Sprintf(">= %d img/s per core", goalPhotosPerCore)))
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "sweep\tbatch wait\tmax inflight\timages/s\tof quota\tp50 / p99 at light load")
	for _, p := range r.Sweep {
		fmt.Fprintf(tw, "%s\t%g ms\t%d\t%s\t%s\t%.0f / %.0f ms\n", p.Setting, p.BatchWaitMs, p.MaxInflight, rate(p.ImagesPerS, ""), ratio(p.Ratio), p.P50ms, p.P99ms)
	}
	fmt.Fprintln(tw)
}

func (d *deployed) table(tw io.Writer) {
	fmt.Fprintf(tw, "as deployed: worker binary, NATS server and fake Clarifai (0 ms, gRPC) in three processes; %d events of metadata %s per round; "+
		"results of %d bytes (worker) and %d (ceiling loop); median of %d rounds (range)\n",
		d.Events, d.Metadata, d.WorkerResultBytes, d.CeilingBytes, d.Rounds)
	fmt.Fprintln(tw, "loop\tevents/s\tratio\tCPU µs/event: worker / server / bench\tallocs/event\tGC CPU: of GOMAXPROCS / of busy\tGC cycles\tpeak RSS: worker / server")
	perS := func(f roundFigures) float64 { return f.EventsPerS }
	c := d.Ceiling.Median
	lo, hi := rangeOf(d.Ceiling, perS)
	fmt.Fprintf(tw, "%s\t%.0f (%.0f-%.0f)\t1.00\t- / %.1f / %.1f\t-\t-\t-\t- / %.0f MiB\n",
		d.Ceiling.Name, c.EventsPerS, lo, hi, c.ServerCPUus, c.BenchCPUus, c.ServerPeakMB)
	for _, w := range d.Workers {
		m := w.Median
		lo, hi := rangeOf(w, perS)
		rlo, rhi := rangeOf(w, func(f roundFigures) float64 { return f.RatioToCeiling })
		fmt.Fprintf(tw, "%s\t%.0f (%.0f-%.0f)\t%.2f (%.2f-%.2f)\t%.1f / %.1f / %.1f\t%.0f\t%.3f / %.3f\t%.0f\t%.0f / %.0f MiB\n",
			w.Name, m.EventsPerS, lo, hi, m.RatioToCeiling, rlo, rhi,
			m.WorkerCPUus, m.ServerCPUus, m.BenchCPUus, m.AllocsPerEvent, m.GCFraction, m.GCShare, m.GCCycles, m.WorkerPeakMB, m.ServerPeakMB)
	}
	if d.Profile != "" {
		fmt.Fprintf(tw, "worker CPU profile: %s\n", d.Profile)
	}
	fmt.Fprintln(tw)
	f := d.Fleet
	fmt.Fprintf(tw, "fleet quota: %d worker processes, each told the account's %d calls/s, against a fake that throttles every call beyond them in any second (%.0f ms calls); %.0f s windows\n",
		f.Replicas, f.CallsPerS, f.LatencyMs, f.WindowS)
	fmt.Fprintln(tw, "phase	images/s	ratio to the quota ceiling	members counted by every replica after")
	fmt.Fprintf(tw, "%d replicas, steady	%.0f	%.2f of %.0f	-\n", f.Replicas, f.Steady, f.Steady/f.Ceiling, f.Ceiling)
	fmt.Fprintf(tw, "one killed (SIGKILL)	%.0f	%.2f	%.2f s\n", f.AfterKill, f.AfterKill/f.Ceiling, f.KillSettleS)
	fmt.Fprintf(tw, "one added	%.0f	%.2f	%.2f s\n", f.AfterAdd, f.AfterAdd/f.Ceiling, f.AddSettleS)
	fmt.Fprintf(tw, "throttled calls	%d of %d	%.3f	-\n", f.Throttled, f.Calls, float64(f.Throttled)/float64(max(f.Calls, 1)))
	fmt.Fprintln(tw)
}

// rangeOf is the lowest and highest of a figure over the rounds.
func rangeOf(r runs, figure func(roundFigures) float64) (lo, hi float64) {
	lo, hi = figure(r.Rounds[0]), figure(r.Rounds[0])
	for _, f := range r.Rounds[1:] {
		lo, hi = min(lo, figure(f)), max(hi, figure(f))
	}
	return lo, hi
}
func rate(v float64, unit string) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f %s", v, unit)
	case v >= 10:
		return fmt.Sprintf("%.1f %s", v, unit)
	}
	return fmt.Sprintf("%.2f %s", v, unit)
}

func ratio(v float64) string { return fmt.Sprintf("%.2f", v) }

func goal(met bool, g string) string {
	if met {
		return g + " met"
	}
	return g + " NOT met"
}
