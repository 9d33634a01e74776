package main

import (
	"context"
	"fmt"
	"os/exec"
	"syscall"
	"time"

	"github.com/imgpredict/worker/internal/ctxtime"
	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/predictor/clarifai/clarifaitest"
)

// The fleet scenario's account: Clarifai's default quota and a call
// latency like theirs.
const (
	fleetReplicas  = 3
	fleetCallsPerS = 15
	fleetLatency   = 150 * time.Millisecond
)

// fleetQuota are the figures of issue 15.4: fleetReplicas worker
// processes, each told the account's calls/s, share them through the
// fleet quota (CLARIFAI_QUOTA_MODE=fleet, the default) against a fake
// that throttles every call beyond them in any one second.
type fleetQuota struct {
	Replicas  int     `json:"replicas"`
	CallsPerS int     `json:"account_calls_per_s"`
	LatencyMs float64 `json:"call_latency_ms"`
	Ceiling   float64 `json:"ceiling_images_per_s"` // calls/s × 128
	WindowS   float64 `json:"window_s"`
	// Steady is images/s over a window once all replicas take calls.
	Steady float64 `json:"steady_images_per_s"`
	// KillSettleS and AddSettleS are the seconds from a replica killed
	// (SIGKILL) or added until every live replica counts the new
	// membership (worker_quota_members); AfterKill and AfterAdd are
	// images/s over the window that follows.
	KillSettleS float64 `json:"members_settled_after_kill_s"`
	AfterKill   float64 `json:"images_per_s_after_kill"`
	AddSettleS  float64 `json:"members_settled_after_add_s"`
	AfterAdd    float64 `json:"images_per_s_after_add"`
	// Calls and Throttled are what the fake received and throttled.
	Calls     int `json:"calls"`
	Throttled int `json:"throttled_calls"`
}

// fleet drains a backlog of n events with fleetReplicas worker processes
// against a fake holding the account's quota, kills one, adds one, and
// measures each phase over windows of the given length.
func (d *deployment) fleet(ctx context.Context, n int, window time.Duration) (fleetQuota, error) {
	f := fleetQuota{Replicas: fleetReplicas, CallsPerS: fleetCallsPerS, LatencyMs: float64(fleetLatency.Milliseconds()),
		Ceiling: fleetCallsPerS * predictor.MaxInputsPerCall, WindowS: window.Seconds()}
	srv := clarifaitest.NewServer()
	defer srv.Close()
	srv.SetLatency(fleetLatency)
	srv.EnforceQuota(fleetCallsPerS)
	if err := d.prepare(ctx, n); err != nil {
		return f, err
	}
	env := []string{"CLARIFAI_ENDPOINT=" + srv.Addr(), fmt.Sprintf("CLARIFAI_RATE_LIMIT=%d", fleetCallsPerS)}
	var live []*workerProcess
	defer func() {
		for _, w := range live {
			_ = w.stop()
		}
	}()
	add := func() error {
		w, err := d.startWorker(env)
		if err == nil {
			live = append(live, w)
		}
		return err
	}
	for range fleetReplicas {
		if err := add(); err != nil {
			return f, err
		}
	}
	if err := d.firstResult(ctx); err != nil {
		return f, err
	}
	rate := func() (float64, error) {
		n0, err := d.b.stored(ctx)
		if err != nil {
			return 0, err
		}
		if err := ctxtime.Sleep(ctx, window); err != nil {
			return 0, err
		}
		n1, err := d.b.stored(ctx)
		if err == nil && n1 >= uint64(n) {
			err = fmt.Errorf("the backlog of %d events ran out before the window ended: measure with more", n)
		}
		return float64(n1-n0) / window.Seconds(), err
	}
	// The first window lets every replica join and take calls.
	var err error
	if _, err = rate(); err != nil {
		return f, err
	}
	if f.Steady, err = rate(); err != nil {
		return f, err
	}

	_ = live[0].cmd.Process.Kill()
	<-live[0].done
	live = live[1:]
	if f.KillSettleS, err = settled(ctx, live, len(live)); err != nil {
		return f, fmt.Errorf("after a kill: %w", err)
	}
	if f.AfterKill, err = rate(); err != nil {
		return f, err
	}

	if err := add(); err != nil {
		return f, err
	}
	if f.AddSettleS, err = settled(ctx, live, len(live)); err != nil {
		return f, fmt.Errorf("after an addition: %w", err)
	}
	if f.AfterAdd, err = rate(); err != nil {
		return f, err
	}
	f.Calls, f.Throttled = srv.Calls(), srv.QuotaThrottled()
	return f, nil
}

// firstResult waits until the first result is stored.
func (d *deployment) firstResult(ctx context.Context) error {
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		if n, err := d.b.stored(ctx); err == nil && n > 0 {
			return nil
		}
		if err := ctxtime.Sleep(ctx, pollEvery); err != nil {
			return err
		}
	}
	return fmt.Errorf("no result within a minute")
}

// settled waits until every worker counts members quota members and
// returns how long that took.
func settled(ctx context.Context, ws []*workerProcess, members int) (float64, error) {
	start := time.Now()
	for time.Since(start) < 30*time.Second {
		all := true
		for _, w := range ws {
			if v, err := gauge(ctx, w.metricsAddr, "worker_quota_members"); err != nil || int(v) != members {
				all = false
				break
			}
		}
		if all {
			return time.Since(start).Seconds(), nil
		}
		if err := ctxtime.Sleep(ctx, 20*time.Millisecond); err != nil {
			return 0, err
		}
	}
	return 0, fmt.Errorf("the replicas did not all count %d members within 30 s", members)
}

// workerProcess is a worker binary the bench started, with the address
// of its /metrics.
type workerProcess struct {
	*process
	metricsAddr string
}

// startWorker starts a worker process on the bench's server and fake,
// with env on top of the bench's settings.
func (d *deployment) startWorker(env []string) (*workerProcess, error) {
	metricsAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	env = append([]string{
		"NATS_URL=" + d.srv.url,
		"WORKER_PREDICTOR=clarifai",
		"CLARIFAI_ENDPOINT=" + d.fake,
		"CLARIFAI_INSECURE=true",
		"CLARIFAI_PAT=workerbench",
		"CLARIFAI_RATE_LIMIT=1000000", // never the limit
		"WORKER_HTTP_ADDR=" + metricsAddr,
		"LOG_LEVEL=warn",
	}, env...)
	cmd := exec.Command(d.bin, "run")
	cmd.Env = append(inheritedEnv(), env...)
	p, err := startProcess("worker", cmd)
	if err != nil {
		return nil, err
	}
	return &workerProcess{process: p, metricsAddr: metricsAddr}, nil
}

// stop ends the worker with SIGTERM, as an orchestrator does.
func (w *workerProcess) stop() error {
	return w.process.stop(func() error { return w.cmd.Process.Signal(syscall.SIGTERM) }, 30*time.Second)
}
