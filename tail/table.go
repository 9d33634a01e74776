package tail

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"github.com/imgpredict/worker/schemas"
)

// Kinds of rows.
const (
	kindResult = "result"
	kindDead   = "dead"
	kindBad    = "?"
)

// topConcepts is how many concepts a result row shows.
const topConcepts = 3

var header = row{kind: "KIND", eventID: "EVENT ID", model: "MODEL", code: "STATUS", regions: "REGIONS", colors: "COLORS", detail: "DETAIL"}

// row is one line of the table, already as text.
type row struct {
	kind, eventID, model, code, regions, colors, detail string
}

func resultRow(r schemas.Result) row {
	detail := formatConcepts(r.Concepts)
	if detail == "" {
		detail = r.Status.Description
	}
	detail = printable(detail)
	return row{
		kind:    kindResult,
		eventID: orDash(printable(r.EventID)),
		model:   orDash(printable(r.Model.ID)),
		code:    strconv.FormatUint(uint64(r.Status.Code), 10),
		regions: strconv.Itoa(len(r.Regions)),
		colors:  orDash(formatColors(r.Colors)),
		detail:  detail,
	}
}

func deadLetterRow(d schemas.DeadLetter) row {
	code := "-"
	if d.Error.Code != 0 {
		code = strconv.FormatUint(uint64(d.Error.Code), 10)
	}
	model := "-"
	if d.Model != nil {
		model = orDash(printable(d.Model.ID))
	}
	return row{
		kind:    kindDead,
		eventID: orDash(printable(d.EventID)),
		model:   model,
		code:    code,
		regions: "-",
		colors:  "-",
		detail:  printable(d.Error.Reason + ": " + d.Error.Description),
	}
}

// decodeRow turns a message of the given kind into a row; a message that
// does not decode still gets a row, so nothing passes unseen.
func decodeRow(kind string, data []byte) row {
	var err error
	if kind == kindResult {
		var r schemas.Result
		if err = json.Unmarshal(data, &r); err == nil {
			return resultRow(r)
		}
	} else {
		var d schemas.DeadLetter
		if err = json.Unmarshal(data, &d); err == nil {
			return deadLetterRow(d)
		}
	}
	return row{kind: kindBad, eventID: "-", model: "-", code: "-", regions: "-", colors: "-", detail: fmt.Sprintf("undecodable %s: %v", kind, err)}
}

// formatConcepts lists the highest-scoring concepts as "red 0.62, blue 0.31".
func formatConcepts(cs []schemas.Concept) string {
	sorted := slices.SortedStableFunc(slices.Values(cs), func(a, b schemas.Concept) int {
		return cmp.Compare(b.Value, a.Value)
	})
	parts := make([]string, 0, topConcepts)
	for _, c := range sorted[:min(topConcepts, len(sorted))] {
		parts = append(parts, fmt.Sprintf("%s %.2f", cmp.Or(c.Name, c.ID), c.Value))
	}
	return strings.Join(parts, ", ")
}

// formatColors lists the largest colours as "red 62%, navy 20%".
func formatColors(cs []schemas.Color) string {
	sorted := slices.SortedStableFunc(slices.Values(cs), func(a, b schemas.Color) int {
		return cmp.Compare(b.Value, a.Value)
	})
	parts := make([]string, 0, topConcepts)
	for _, c := range sorted[:min(topConcepts, len(sorted))] {
		name := c.RawHex
		if c.W3C != nil && c.W3C.Name != "" {
			name = c.W3C.Name
		}
		parts = append(parts, fmt.Sprintf("%s %.0f%%", printable(name), 100*c.Value))
	}
	return strings.Join(parts, ", ")
}

func orDash(s string) string { return cmp.Or(s, "-") }

// printable quotes s, with escapes, when it holds anything that would
// break a line of the table: control characters, line or paragraph
// separators, invalid UTF-8.
func printable(s string) string {
	for _, r := range s {
		if r == utf8.RuneError || r == '\u2028' || r == '\u2029' || !unicode.IsPrint(r) && r != ' ' {
			return strconv.Quote(s)
		}
	}
	return s
}

// writeRow prints a row with fixed column widths: a follower cannot wait
// for later rows to size its columns as FormatTable does.
func writeRow(w io.Writer, r row) error {
	_, err := fmt.Fprintf(w, "%-6s  %-20s  %-26s  %-6s  %-7s  %-28s  %s\n", r.kind, r.eventID, r.model, r.code, r.regions, r.colors, r.detail)
	return err
}

// FormatTable prints results and then dead letters as an aligned table,
// the same columns as Run prints.
func FormatTable(w io.Writer, results []schemas.Result, dead []schemas.DeadLetter) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	rows := []row{header}
	for _, r := range results {
		rows = append(rows, resultRow(r))
	}
	for _, d := range dead {
		rows = append(rows, deadLetterRow(d))
	}
	for _, r := range rows {
		if _, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.kind, r.eventID, r.model, r.code, r.regions, r.colors, r.detail); err != nil {
			return fmt.Errorf("tail: write table: %w", err)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("tail: write table: %w", err)
	}
	return nil
}
