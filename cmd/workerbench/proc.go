package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// cost is a snapshot of the process's CPU time and heap allocations.
type cost struct {
	cpu     time.Duration
	mallocs uint64
}

func costNow() cost {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return cost{cpu: selfCPU(), mallocs: ms.Mallocs}
}

// perEvent is the cost since c, per event.
func (c cost) perEvent(events int) (cpuMicros, allocs float64) {
	now := costNow()
	return float64(now.cpu-c.cpu) / float64(time.Microsecond) / float64(events),
		float64(now.mallocs-c.mallocs) / float64(events)
}

// self names this process under /proc; other processes go by their pid.
const self = "self"

// procStatus reads one kB field of /proc/<proc>/status, in MiB; 0 when
// the system has none.
func procStatus(proc, field string) float64 {
	data, err := os.ReadFile("/proc/" + proc + "/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
		if err != nil {
			return 0
		}
		return kb / 1024
	}
	return 0
}

// resetPeakRSS makes a process's VmHWM start again from its current RSS
// (Linux >= 4.0).
func resetPeakRSS(proc string) bool {
	return os.WriteFile("/proc/"+proc+"/clear_refs", []byte("5"), 0) == nil
}

// clockTick is the unit of the CPU times in /proc/<pid>/stat: USER_HZ,
// which Linux fixes at 100 for user space on every architecture Go runs on.
const clockTick = 10 * time.Millisecond

// procCPU is the user plus system CPU time a process has used so far.
func procCPU(proc string) (time.Duration, error) {
	data, err := os.ReadFile("/proc/" + proc + "/stat")
	if err != nil {
		return 0, fmt.Errorf("cpu time: %w", err)
	}
	// The command name (field 2) may hold spaces and parentheses: the
	// fields that follow start after the last ')'. utime and stime are
	// fields 14 and 15, the 12th and 13th after it.
	i := bytes.LastIndexByte(data, ')')
	f := strings.Fields(string(data[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("cpu time: /proc/%s/stat has %d fields", proc, len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("cpu time: /proc/%s/stat: %w", proc, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// selfCPU is the user plus system CPU time this process has used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rssSampler tracks the highest VmRSS seen, for systems where the peak
// cannot be reset.
type rssSampler struct {
	mu   sync.Mutex
	peak float64
	stop context.CancelFunc
	done chan struct{}
}

func sampleRSS(ctx context.Context, every time.Duration) *rssSampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &rssSampler{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			rss := procStatus(self, "VmRSS")
			s.mu.Lock()
			s.peak = max(s.peak, rss)
			s.mu.Unlock()
			select {
			case <-t.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	return s
}

// end stops sampling and returns the peak.
func (s *rssSampler) end() float64 {
	s.stop()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// machine describes where the run happened.
type machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	LoadStart string `json:"load_average_start"`
	LoadEnd   string `json:"load_average_end,omitempty"`
}

func describeMachine() machine {
	return machine{
		CPUs:      runtime.NumCPU(),
		CPUModel:  cpuModel(),
		GoVersion: runtime.Version(),
		OS:        runtime.GOOS + "/" + runtime.GOARCH,
		LoadStart: loadAverage(),
	}
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for line := range strings.Lines(string(data)) {
		if name, val, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(val)
		}
	}
	return "unknown"
}

// loadAverage is the 1, 5 and 15 minute load average.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
