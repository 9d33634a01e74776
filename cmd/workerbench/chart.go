package main

import (
	"fmt"
	"image/color"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// drawChart writes four panels as PNG: throughput under backlog and p99
// latency at light load, against WORKER_BATCH_WAIT and WORKER_MAX_INFLIGHT.
func drawChart(path string, r *report) error {
	var wait, inflight []sweepPoint
	for _, p := range r.Sweep {
		if p.Setting == "batch_wait" {
			wait = append(wait, p)
		} else {
			inflight = append(inflight, p)
		}
	}
	s := r.Settings
	sub := fmt.Sprintf("(fake %g ms calls, %g calls/s)", s.FakeLatencyMs, s.RateLimit)
	panels := [][]*plot.Plot{
		{
			panel("Throughput under backlog "+sub, "WORKER_BATCH_WAIT (ms)", "images/s", wait,
				func(p sweepPoint) (float64, float64) { return p.BatchWaitMs, p.ImagesPerS }, s.QuotaCeiling),
			panel("Throughput under backlog "+sub, "WORKER_MAX_INFLIGHT", "images/s", inflight,
				func(p sweepPoint) (float64, float64) { return float64(p.MaxInflight), p.ImagesPerS }, s.QuotaCeiling),
		},
		{
			panel(fmt.Sprintf("p99 latency at %g events/s", r.Latency.EventsPerS), "WORKER_BATCH_WAIT (ms)", "ms", wait,
				func(p sweepPoint) (float64, float64) { return p.BatchWaitMs, p.P99ms }, 0),
			panel(fmt.Sprintf("p99 latency at %g events/s", r.Latency.EventsPerS), "WORKER_MAX_INFLIGHT", "ms", inflight,
				func(p sweepPoint) (float64, float64) { return float64(p.MaxInflight), p.P99ms }, 0),
		},
	}
	img := vgimg.New(12*vg.Inch, 8*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 2, PadX: vg.Inch / 4, PadY: vg.Inch / 4, PadTop: vg.Inch / 8,
		PadBottom: vg.Inch / 8, PadLeft: vg.Inch / 8, PadRight: vg.Inch / 8}
	canvases := plot.Align(panels, tiles, dc)
	for i := range panels {
		for j := range panels[i] {
			panels[i][j].Draw(canvases[i][j])
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("chart: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	return nil
}

// panel plots xy of the points as a line with markers, and a dashed
// horizontal line at ceiling when it is positive.
func panel(title, x, y string, pts []sweepPoint, xy func(sweepPoint) (float64, float64), ceiling float64) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Add(plotter.NewGrid())
	data := make(plotter.XYs, len(pts))
	for i, pt := range pts {
		data[i].X, data[i].Y = xy(pt)
	}
	blue := color.RGBA{R: 31, G: 119, B: 180, A: 255}
	if line, points, err := plotter.NewLinePoints(data); err == nil {
		line.Color, points.Color = blue, blue
		points.Shape = draw.CircleGlyph{}
		p.Add(line, points)
	}
	p.Y.Min = 0
	if ceiling > 0 && len(pts) > 0 {
		lo, hi := data[0].X, data[len(data)-1].X
		if ref, err := plotter.NewLine(plotter.XYs{{X: lo, Y: ceiling}, {X: hi, Y: ceiling}}); err == nil {
			ref.Color = color.RGBA{R: 214, G: 39, B: 40, A: 255}
			ref.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			p.Add(ref)
			p.Legend.Add("quota ceiling", ref)
			p.Legend.Top = false
		}
		p.Y.Max = ceiling * 1.1
	}
	return p
}
