package main

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/rs/zerolog"
)

func TestTuneGC(t *testing.T) {
	prevGC := debug.SetGCPercent(100)
	prevLimit := debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() {
		debug.SetGCPercent(prevGC)
		debug.SetMemoryLimit(prevLimit)
	})
	env := map[string]string{"GOGC": "150", "AUTOMEMLIMIT": "off"}
	t.Setenv("AUTOMEMLIMIT", "off") // memlimit reads the process environment
	tuneGC(func(k string) string { return env[k] }, 64<<20, zerolog.Nop())
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set, the GC target became %d; the environment's must stand", got)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("with AUTOMEMLIMIT=off, the memory limit became %d", got)
	}

	env = map[string]string{"AUTOMEMLIMIT": "off"}
	tuneGC(func(k string) string { return env[k] }, 64<<20, zerolog.Nop())
	if got := debug.SetGCPercent(100); got != defaultGOGC {
		t.Errorf("without GOGC, the GC target is %d, want %d", got, defaultGOGC)
	}
}
