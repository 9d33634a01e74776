package status

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
)

// WriteJSON prints the report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // subjects hold '>'
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("status: write: %w", err)
	}
	return nil
}

// WriteTable prints the report for people, one fact a line.
func WriteTable(w io.Writer, r *Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, a ...any) { fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(format, a...)) }
	row("input stream", "%s (%s): %d messages, %s", r.Input.Name, strings.Join(r.Input.Subjects, ", "), r.Input.Messages, bytesIEC(r.Input.Bytes))
	c := r.Consumer
	row("consumer", "%s", c.Name)
	row("  pending", "%d", c.Pending)
	row("  ack pending", "%d", c.AckPending)
	row("  redelivered", "%d", c.Redelivered)
	row("  waiting pulls", "%d", c.WaitingPulls)
	row("  paused", "%s", paused(c))
	row("window", "the last %s, since %s", short(r.Window.Since), r.Window.From.Format(time.RFC3339))
	for _, o := range []struct {
		name string
		out  Outputs
	}{{"results", r.Results}, {"dead letters", r.DeadLetters}} {
		if o.out.Stream == "" {
			row(o.name, "no stream captures %s", o.out.Filter)
			continue
		}
		row(o.name, "%d (%s, %s)", o.out.Messages, o.out.Stream, o.out.Filter)
	}
	d := r.DeadLetters
	if d.ReasonsRead < d.Messages {
		row("  by reason", "of the first %d only (more than %d to read)", d.ReasonsRead, d.ReasonsRead)
	}
	for _, reason := range byCount(d.ByReason) {
		row("    "+printable(reason), "%d", d.ByReason[reason])
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("status: write: %w", err)
	}
	return nil
}

func paused(c Consumer) string {
	if !c.Paused {
		return "no"
	}
	if c.PausedUntil == nil {
		return "yes"
	}
	left := time.Until(*c.PausedUntil).Round(time.Second)
	return fmt.Sprintf("yes, until %s (%s left)", c.PausedUntil.Format(time.RFC3339), max(left, 0))
}

// short prints a duration as 15m rather than 15m0s.
func short(d string) string {
	if strings.HasSuffix(d, "m0s") {
		d = d[:len(d)-2]
	}
	if strings.HasSuffix(d, "h0m") {
		d = d[:len(d)-2]
	}
	return d
}

// byCount lists reasons by falling count, then by name.
func byCount(m map[string]uint64) []string {
	return slices.SortedFunc(maps.Keys(m), func(a, b string) int {
		return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b))
	})
}

// bytesIEC prints a byte count as people read it: 3.1 MiB.
func bytesIEC(n uint64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatUint(n, 10) + " B"
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// printable quotes a reason that would break the table's lines.
func printable(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
