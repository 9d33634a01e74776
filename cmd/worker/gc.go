package main

import (
	"math"
	"runtime/debug"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/rs/zerolog"
)

// defaultGOGC is the worker's garbage-collection target when GOGC is not
// set. The worker's heap is mostly short-lived (one event's structures
// for the time of a call): as deployed, GC took 9 % of the worker's CPU at
// Go's default of 100 and 2.5 % at 400, for about 30 MiB more peak RSS,
// and the worker needed about 12 % less CPU per event.
const defaultGOGC = 400

// tuneGC sets the garbage collector for a long-running worker unless the
// environment already does: GOGC 400, and a soft memory limit (GOMEMLIMIT)
// of 90 % of the container's memory limit (AUTOMEMLIMIT sets another
// ratio), or, outside a container, of twice the byte budget plus 256 MiB,
// so that the higher GOGC never lets the heap grow past what the budgets
// imply. AUTOMEMLIMIT=off leaves the limit alone.
func tuneGC(getenv func(string) string, maxPendingBytes int64, log zerolog.Logger) {
	gogc := "environment"
	if getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGOGC)
		gogc = "400"
	}
	limit, err := memlimit.Set(memlimit.WithRatio(0.9))
	auto := getenv("AUTOMEMLIMIT")
	if err != nil && auto != "" {
		log.Warn().Err(err).Msg("AUTOMEMLIMIT is not a ratio in (0,1] or off; ignored")
	}
	if limit == math.MaxInt64 && getenv("GOMEMLIMIT") == "" && auto != "off" {
		limit = 2*maxPendingBytes + 256<<20
		debug.SetMemoryLimit(limit)
	}
	ev := log.Info().Str("gogc", gogc)
	if limit != math.MaxInt64 {
		ev = ev.Int64("gomemlimit_bytes", limit)
	}
	ev.Msg("garbage collector")
}
