package main

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"strconv"
)

// drawChart writes four panels as SVG: throughput under backlog and p99
// latency at light load, against WORKER_BATCH_WAIT and WORKER_MAX_INFLIGHT.
// The chart is written by hand rather than with a plotting library, which
// would add about ten modules (fonts, PDF, LaTeX) to the module graph of
// every user of the worker's packages for one picture.
func drawChart(path string, r *report) error {
	in := r.InProcess
	if in == nil {
		return fmt.Errorf("chart: the sweep is part of the in-process scenarios, which did not run")
	}
	var wait, inflight panel
	for _, p := range in.Sweep {
		if p.Setting == "batch_wait" {
			wait.add(p.BatchWaitMs, p)
		} else {
			inflight.add(float64(p.MaxInflight), p)
		}
	}
	s := r.Settings
	sub := fmt.Sprintf("(fake %g ms calls, %g calls/s)", s.FakeLatencyMs, s.RateLimit)
	light := fmt.Sprintf("p99 latency at %g events/s", in.Latency.EventsPerS)
	panels := [2][2]panel{
		{
			wait.show("Throughput under backlog "+sub, "WORKER_BATCH_WAIT (ms)", "images/s", throughputOf, s.QuotaCeiling),
			inflight.show("Throughput under backlog "+sub, "WORKER_MAX_INFLIGHT", "images/s", throughputOf, s.QuotaCeiling),
		},
		{
			wait.show(light, "WORKER_BATCH_WAIT (ms)", "ms", p99Of, 0),
			inflight.show(light, "WORKER_MAX_INFLIGHT", "ms", p99Of, 0),
		},
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	if err := writeSVG(f, panels); err != nil {
		f.Close()
		return fmt.Errorf("chart: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	return nil
}

func throughputOf(p sweepPoint) float64 { return p.ImagesPerS }
func p99Of(p sweepPoint) float64        { return p.P99ms }

// panel is one line of points with markers, and a dashed reference line
// at ceiling when it is positive.
type panel struct {
	title, xLabel, yLabel string
	xs, ys                []float64
	points                []sweepPoint
	ceiling               float64
}

func (p *panel) add(x float64, pt sweepPoint) {
	p.xs = append(p.xs, x)
	p.points = append(p.points, pt)
}

// show is a copy of p plotting y of its points.
func (p panel) show(title, xLabel, yLabel string, y func(sweepPoint) float64, ceiling float64) panel {
	p.title, p.xLabel, p.yLabel, p.ceiling = title, xLabel, yLabel, ceiling
	p.ys = make([]float64, len(p.points))
	for i, pt := range p.points {
		p.ys[i] = y(pt)
	}
	return p
}

// Sizes in px of a panel and of the margins around its plot area.
const (
	panelW, panelH = 600, 400
	marginL        = 70
	marginR        = 24
	marginT        = 40
	marginB        = 50
	tickLength     = 4
	markerRadius   = 3.5
)

// Font sizes in px.
const (
	fontSize      = 12
	titleFontSize = 14
	labelFontSize = 13
)

// Colours: the line and its markers, the reference line, the grid.
const (
	lineColor    = "#1f77b4"
	ceilingColor = "#d62728"
	gridColor    = "#dddddd"
)

func writeSVG(w io.Writer, panels [2][2]panel) error {
	bw := bufio.NewWriter(w)
	width, height := 2*panelW, 2*panelH
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="%d">`+"\n",
		width, height, width, height, fontSize)
	fmt.Fprintf(bw, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	for row := range panels {
		for col := range panels[row] {
			panels[row][col].draw(bw, float64(col*panelW), float64(row*panelH))
		}
	}
	fmt.Fprintln(bw, "</svg>")
	return bw.Flush()
}

// draw writes the panel with its top left corner at (ox, oy). Both axes
// start at 0.
func (p panel) draw(w io.Writer, ox, oy float64) {
	left, right := ox+marginL, ox+panelW-marginR
	top, bottom := oy+marginT, oy+panelH-marginB
	xStep, xTicks := ticks(maxOf(p.xs))
	yStep, yTicks := ticks(max(maxOf(p.ys), p.ceiling*1.1))
	sx := func(v float64) float64 { return left + v/(xStep*float64(xTicks))*(right-left) }
	sy := func(v float64) float64 { return bottom - v/(yStep*float64(yTicks))*(bottom-top) }

	text(w, (left+right)/2, oy+24, "middle", titleFontSize, p.title)
	for i := 0; i <= xTicks; i++ {
		x := sx(float64(i) * xStep)
		line(w, x, top, x, bottom, gridColor, 1, "")
		line(w, x, bottom, x, bottom+tickLength, "black", 1, "")
		text(w, x, bottom+18, "middle", fontSize, tickLabel(float64(i)*xStep, xStep))
	}
	for i := 0; i <= yTicks; i++ {
		y := sy(float64(i) * yStep)
		line(w, left, y, right, y, gridColor, 1, "")
		line(w, left-tickLength, y, left, y, "black", 1, "")
		text(w, left-8, y+4, "end", fontSize, tickLabel(float64(i)*yStep, yStep))
	}
	fmt.Fprintf(w, `<rect x="%s" y="%s" width="%s" height="%s" fill="none" stroke="black"/>`+"\n", num(left), num(top), num(right-left), num(bottom-top))
	text(w, (left+right)/2, bottom+40, "middle", labelFontSize, p.xLabel)
	cy := (top + bottom) / 2
	fmt.Fprintf(w, `<text x="%s" y="%s" text-anchor="middle" font-size="%d" transform="rotate(-90 %s %s)">%s</text>`+"\n",
		num(ox+20), num(cy), labelFontSize, num(ox+20), num(cy), html.EscapeString(p.yLabel))

	if len(p.xs) > 0 {
		fmt.Fprintf(w, `<polyline fill="none" stroke="%s" stroke-width="2" points="`, lineColor)
		for i := range p.xs {
			fmt.Fprintf(w, "%s,%s ", num(sx(p.xs[i])), num(sy(p.ys[i])))
		}
		fmt.Fprintln(w, `"/>`)
		for i := range p.xs {
			fmt.Fprintf(w, `<circle cx="%s" cy="%s" r="%g" fill="%s"/>`+"\n", num(sx(p.xs[i])), num(sy(p.ys[i])), markerRadius, lineColor)
		}
	}
	if p.ceiling > 0 {
		y := sy(p.ceiling)
		line(w, left, y, right, y, ceilingColor, 1.5, "6 4")
		text(w, right-6, y-6, "end", fontSize, "quota ceiling")
	}
}

// ticks picks a round step (1, 2 or 5 times a power of ten) and how many
// steps from 0 reach at least hi, about five of them.
func ticks(hi float64) (step float64, n int) {
	if hi <= 0 || math.IsNaN(hi) || math.IsInf(hi, 0) {
		return 1, 1
	}
	raw := hi / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step = 10 * mag
	for _, m := range []float64{1, 2, 5} {
		if raw <= m*mag {
			step = m * mag
			break
		}
	}
	return step, int(math.Ceil(hi/step - 1e-9))
}

// tickLabel prints v with as many decimals as step needs.
func tickLabel(v, step float64) string {
	decimals := max(0, int(-math.Floor(math.Log10(step))))
	return strconv.FormatFloat(v, 'f', decimals, 64)
}

func maxOf(vs []float64) float64 {
	m := 0.0
	for _, v := range vs {
		m = max(m, v)
	}
	return m
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func line(w io.Writer, x1, y1, x2, y2 float64, color string, width float64, dash string) {
	extra := ""
	if dash != "" {
		extra = ` stroke-dasharray="` + dash + `"`
	}
	fmt.Fprintf(w, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%g"%s/>`+"\n",
		num(x1), num(y1), num(x2), num(y2), color, width, extra)
}

func text(w io.Writer, x, y float64, anchor string, size int, s string) {
	fmt.Fprintf(w, `<text x="%s" y="%s" text-anchor="%s" font-size="%d">%s</text>`+"\n", num(x), num(y), anchor, size, html.EscapeString(s))
}
