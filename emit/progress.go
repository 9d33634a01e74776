package emit

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress reports events done and problems. The publishing loop and the
// ack collector both call it, hence the mutex.
type progress struct {
	mu    sync.Mutex
	out   io.Writer
	bar   *progressbar.ProgressBar // nil when out is not a terminal
	total int
	done  int
	start time.Time
	every time.Duration
	last  time.Time
}

func newProgress(out io.Writer, total int, every time.Duration) *progress {
	p := &progress{out: out, total: total, every: every, start: time.Now()}
	p.last = p.start
	if isTerminal(out) {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(out),
			progressbar.OptionSetDescription("emitting"),
			progressbar.OptionSetItsString("events"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// add counts n events as done (acknowledged or failed).
func (p *progress) add(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if p.bar != nil {
		_ = p.bar.Add(n) // a failed redraw must not stop the emit
		return
	}
	if now := time.Now(); now.Sub(p.last) >= p.every && p.done < p.total {
		p.last = now
		rate := float64(p.done) / now.Sub(p.start).Seconds()
		fmt.Fprintf(p.out, "emitted %d/%d events (%.1f/s)\n", p.done, p.total, rate)
	}
}

// notef prints a problem on its own line, above the bar if there is one.
func (p *progress) notef(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Clear()
	}
	fmt.Fprintf(p.out, format+"\n", args...)
}

// finish removes the bar so the summary starts on a clean line.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
