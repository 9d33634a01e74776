package quota_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/internal/natstest"
	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/predictor/clarifai"
	"github.com/imgpredict/worker/predictor/clarifai/clarifaitest"
)

// The account of the benchmark: Clarifai's default quota, calls of 150 ms.
const (
	benchRate    = 15
	benchLatency = 150 * time.Millisecond
	ceiling      = benchRate * predictor.MaxInputsPerCall // images/s
	settleWindow = 2 * time.Second                        // throughput is judged over windows this long
	settleHold   = 6 * time.Second                        // and must hold this long to count as settled
)

// BenchmarkFleetThreeReplicas runs 3 replica processes, each a Clarifai
// client of 128-input calls on a quota.Fleet configured with the account's
// 15 calls/s, against a fake that throttles every call beyond 15 in any
// one second, under backlog. It kills one (no clean leave), adds one,
// then freezes one for 10 s (SIGSTOP, SIGCONT). A single process with
// quota.Local at 15 calls/s runs first against the same fake, as the
// baseline. Figures come from the fake's record of calls.
//
//	go test -run '^$' -bench FleetThreeReplicas ./quota/
func BenchmarkFleetThreeReplicas(b *testing.B) {
	srv := natstest.Start(b)
	fake := clarifaitest.NewServer()
	defer fake.Close()
	fake.SetLatency(benchLatency)
	fake.EnforceQuota(benchRate)
	tl := &timeline{start: time.Now()}
	var at moments
	at.baseFrom, at.baseTo = baseline(b, tl, fake)
	hold(time.Second)
	scenario(b, tl, &at, srv.ClientURL(), fake.Addr())
	report(b, tl, &at, fake)
}

// moments of the run that the figures refer to.
type moments struct {
	baseFrom, baseTo     time.Time
	steadyFrom, steadyTo time.Time
	killed, added        time.Time
	frozen, resumed, end time.Time
}

// baseline runs one process holding the whole quota alone, with the
// client's default limiter, and returns the span it is measured over.
func baseline(b *testing.B, tl *timeline, fake *clarifaitest.Server) (from, to time.Time) {
	client, err := clarifai.NewClient(clarifai.ClientConfig{
		Endpoint: fake.Addr(), Insecure: true, PAT: "bench", RateLimit: benchRate,
	}, zerolog.Nop())
	require.NoError(b, err)
	defer client.Close()
	ctx, cancel := context.WithCancel(b.Context())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { drive(ctx, client, 8) })
	tl.mark("baseline")
	return hold(2 * time.Second), hold(10 * time.Second)
}

// scenario runs the replicas through their changes.
func scenario(b *testing.B, tl *timeline, at *moments, natsURL, clarifaiAddr string) {
	procs := map[string]*replica{}
	start := func(name string) { procs[name] = startReplica(b, name, natsURL, clarifaiAddr) }
	defer func() {
		for _, p := range procs {
			p.stop()
			b.Logf("%s stderr:\n%s", p.name, p.stderr.String())
		}
	}()
	for _, n := range []string{"r1", "r2", "r3"} {
		start(n)
	}
	tl.mark("3 replicas start")
	at.steadyFrom = hold(3 * time.Second)
	at.steadyTo = hold(20 * time.Second)

	procs["r3"].kill()
	at.killed = tl.mark("r3 killed")
	hold(12 * time.Second)

	start("r4")
	at.added = tl.mark("r4 added")
	hold(12 * time.Second)

	procs["r1"].signal(syscall.SIGSTOP)
	at.frozen = tl.mark("r1 frozen")
	hold(10 * time.Second)
	procs["r1"].signal(syscall.SIGCONT)
	at.resumed = tl.mark("r1 resumed")
	at.end = hold(10 * time.Second)
}

func report(b *testing.B, tl *timeline, at *moments, fake *clarifaitest.Server) {
	calls := fake.QuotaCalls()
	base := summarize(calls, at.baseFrom, at.baseTo)
	steady := summarize(calls, at.steadyFrom, at.steadyTo)
	fleet := summarize(calls, at.steadyFrom, at.end)
	frozen := summarize(calls, at.frozen, at.resumed)
	after := summarize(calls, at.resumed, at.resumed.Add(5*time.Second))
	firstSecond := 0
	var delays []time.Duration
	for _, r := range fake.Requests() {
		if slices.Contains(r.Metadata.Get(replicaHeader), "r1") && !r.Time.Before(at.resumed) && r.Time.Before(at.resumed.Add(time.Second)) {
			firstSecond++
		}
		if sent := r.Metadata.Get(sentHeader); len(sent) == 1 {
			ns, err := strconv.ParseInt(sent[0], 10, 64)
			require.NoError(b, err)
			delays = append(delays, r.Time.Sub(time.Unix(0, ns)))
		}
	}
	slices.Sort(delays)
	pct := func(p float64) time.Duration { return delays[int(p*float64(len(delays)-1))] }

	b.ReportMetric(0, "ns/op")
	b.ReportMetric(base.imagesPerS/ceiling, "baseline_ceiling_ratio")
	b.ReportMetric(steady.imagesPerS/ceiling, "steady_ceiling_ratio")
	b.ReportMetric(fleet.imagesPerS/ceiling, "run_ceiling_ratio")
	b.ReportMetric(fleet.throttledPct, "run_throttled_%")
	b.ReportMetric(settle(calls, at.killed).Seconds(), "kill_settle_s")
	b.ReportMetric(settle(calls, at.added).Seconds(), "add_settle_s")
	b.ReportMetric(frozen.imagesPerS/ceiling, "frozen_ceiling_ratio")
	b.ReportMetric(float64(firstSecond), "resumed_first_s_calls")
	b.ReportMetric(float64(busiestSecond(calls, at.resumed, at.resumed.Add(5*time.Second))), "resumed_busiest_s_calls")
	b.ReportMetric(float64(after.throttled), "resumed_throttled_calls")

	b.Logf("ceiling %d images/s (%d calls/s × %d inputs), fake latency %s", ceiling, benchRate, predictor.MaxInputsPerCall, benchLatency)
	b.Logf("baseline, 1 process, quota.Local:  %s", base)
	b.Logf("fleet, 3 replicas, steady (20 s):  %s", steady)
	b.Logf("fleet, whole run (%2.0f s):          %s", at.end.Sub(at.steadyFrom).Seconds(), fleet)
	b.Logf("while r1 is frozen (10 s):         %s", frozen)
	b.Logf("5 s after r1 resumed:              %s", after)
	b.Logf("delay from a replica's send to the fake's handler: p50 %s, p99 %s, p99.9 %s, max %s",
		pct(0.5), pct(0.99), pct(0.999), pct(1))
	b.Logf("calls let through per second:\n%s", tl.perSecond(calls))
}

// replica is one replica process.
type replica struct {
	name   string
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	done   bool
}

func startReplica(b *testing.B, name, natsURL, clarifaiAddr string) *replica {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(),
		envReplica+"="+name, envNATS+"="+natsURL, envClarifai+"="+clarifaiAddr, fmt.Sprintf("%s=%d", envRate, benchRate))
	r := &replica{name: name, cmd: cmd, stderr: &bytes.Buffer{}}
	cmd.Stderr = r.stderr
	require.NoError(b, cmd.Start())
	return r
}

func (r *replica) signal(s syscall.Signal) { _ = r.cmd.Process.Signal(s) }

// kill ends the process with no chance to leave the group.
func (r *replica) kill() {
	r.signal(syscall.SIGKILL)
	r.wait()
}

// stop ends the process the clean way: it leaves the group.
func (r *replica) stop() {
	r.signal(syscall.SIGCONT)
	r.signal(syscall.SIGTERM)
	r.wait()
}

func (r *replica) wait() {
	if !r.done {
		_ = r.cmd.Wait()
		r.done = true
	}
}

// timeline marks the moments of the run.
type timeline struct {
	start time.Time
	marks []string
	at    []time.Time
}

// mark notes what happens now and returns the time.
func (t *timeline) mark(what string) time.Time {
	now := time.Now()
	t.marks, t.at = append(t.marks, what), append(t.at, now)
	return now
}

// hold lets the run go on for d and returns the time after.
func hold(d time.Duration) time.Time {
	time.Sleep(d)
	return time.Now()
}

// perSecond prints the calls let through in each second of the run, ten
// seconds to a line, with "+n" for n throttled, then when each mark was.
func (t *timeline) perSecond(calls []clarifaitest.QuotaCall) string {
	var sb strings.Builder
	last := calls[len(calls)-1].Time
	for s := 0; t.start.Add(time.Duration(s) * time.Second).Before(last); s++ {
		if s%10 == 0 {
			fmt.Fprintf(&sb, "%3d s:", s)
		}
		from := t.start.Add(time.Duration(s) * time.Second)
		sum := summarize(calls, from, from.Add(time.Second))
		fmt.Fprintf(&sb, " %2d", sum.accepted)
		if sum.throttled > 0 {
			fmt.Fprintf(&sb, "+%d", sum.throttled)
		}
		if s%10 == 9 {
			sb.WriteString("\n")
		}
	}
	sb.WriteString("\nmarks:")
	for i, at := range t.at {
		fmt.Fprintf(&sb, " %s %.1f s;", t.marks[i], at.Sub(t.start).Seconds())
	}
	return sb.String()
}

type summary struct {
	accepted, throttled int
	imagesPerS          float64
	throttledPct        float64
}

func (s summary) String() string {
	return fmt.Sprintf("%.0f images/s (%.2f of the ceiling), %d calls, %d throttled (%.1f %%)",
		s.imagesPerS, s.imagesPerS/ceiling, s.accepted+s.throttled, s.throttled, s.throttledPct)
}

// summarize counts the calls in [from, to).
func summarize(calls []clarifaitest.QuotaCall, from, to time.Time) summary {
	var s summary
	for _, c := range calls {
		if c.Time.Before(from) || !c.Time.Before(to) {
			continue
		}
		if c.Throttled {
			s.throttled++
		} else {
			s.accepted++
		}
	}
	s.imagesPerS = float64(s.accepted*predictor.MaxInputsPerCall) / to.Sub(from).Seconds()
	if n := s.accepted + s.throttled; n > 0 {
		s.throttledPct = 100 * float64(s.throttled) / float64(n)
	}
	return s
}

// settle is how long after event the throughput reached 0.9 of the
// ceiling for good: the start of the first settleWindow (stepping by
// 100 ms from event) from which every window over settleHold does. It
// is 0 when the throughput never fell below, -1 when it did not settle
// within 10 s.
func settle(calls []clarifaitest.QuotaCall, event time.Time) time.Duration {
	ok := func(from time.Time) bool {
		return summarize(calls, from, from.Add(settleWindow)).imagesPerS >= 0.9*ceiling
	}
	for d := time.Duration(0); d < 10*time.Second; d += 100 * time.Millisecond {
		held := true
		for h := time.Duration(0); h <= settleHold-settleWindow && held; h += 100 * time.Millisecond {
			held = ok(event.Add(d + h))
		}
		if held {
			return d
		}
	}
	return -1
}

// busiestSecond is the most calls, accepted or not, that arrived within
// one second starting in [from, to).
func busiestSecond(calls []clarifaitest.QuotaCall, from, to time.Time) int {
	most := 0
	for i, c := range calls {
		if c.Time.Before(from) || !c.Time.Before(to) {
			continue
		}
		n := 0
		for _, d := range calls[i:] {
			if !d.Time.Before(c.Time.Add(time.Second)) {
				break
			}
			n++
		}
		most = max(most, n)
	}
	return most
}
