package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/png"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/imgpredict/worker/internal/ctxtime"
	"github.com/imgpredict/worker/memo"
)

// duplicates are the figures of issue 10.4: half the events repeat an
// image seen earlier in the run, and the worker runs with its memo as
// deployed (idempotency records and result cache on).
type duplicates struct {
	Events int `json:"events"`
	Images int `json:"distinct_images"`
	// Calls and Inputs are what the fake Clarifai received.
	Calls          int     `json:"calls"`
	Inputs         int     `json:"inputs_sent"`
	InputsPerEvent float64 `json:"inputs_per_event"`
	// SameCall are repeats sent once in their call
	// (worker_predictions_saved_total{cause="batch_duplicate"}); InFlight
	// repeats answered from another call in flight (cause="in_flight");
	// CacheHits repeats answered from the result cache
	// (worker_cache_hits_total); CacheMisses lookups that found nothing.
	SameCall    int     `json:"saved_in_same_call"`
	InFlight    int     `json:"saved_in_flight"`
	CacheHits   int     `json:"cache_hits"`
	CacheMisses int     `json:"cache_misses"`
	Seconds     float64 `json:"seconds"`
	// HitPath drains a second backlog of images all predicted in the
	// first run: every event is a cache hit. HitCalls should be 0.
	HitPath  throughput `json:"hit_path"`
	HitCalls int        `json:"hit_path_calls"`
}

// repeatedImage is the image of event i in a backlog of n events where
// every odd event repeats an earlier image: in the first half the image
// of the event just before (so in the same call), in the second half that
// of an event at least n/2 earlier (so in an earlier call, whose result
// the cache holds by then). Even events bring the n/2 new images.
func repeatedImage(i, n int) int {
	switch {
	case i%2 == 0:
		return i / 2
	case i < n/2:
		return (i - 1) / 2
	}
	return (i - n/2) / 2
}

// pngImages are n distinct 4×4 PNGs in base64, as an upload service
// would send small images inline.
func pngImages(n int) ([]string, error) {
	out := make([]string, n)
	img := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	var buf bytes.Buffer
	for i := range out {
		img.Pix[0], img.Pix[1], img.Pix[2], img.Pix[3] = byte(i>>16), byte(i>>8), byte(i), 255
		buf.Reset()
		if err := png.Encode(&buf, img); err != nil {
			return nil, fmt.Errorf("image %d: %w", i, err)
		}
		out[i] = base64.StdEncoding.EncodeToString(buf.Bytes())
	}
	return out, nil
}

func inlineEvent(id, b64 string) []byte {
	return []byte(`{"id":"` + id + `","image":{"base64":"` + b64 + `"}}`)
}

// duplicateImages drains a backlog of n events, half of them repeating an
// image (see repeatedImage), with the worker and its memo against f; then
// a backlog of hits events cycling over the same images, on fresh streams
// but the same memo buckets, against hf. Both runs drain the whole
// backlog.
func (b *bench) duplicateImages(ctx context.Context, f, hf *fake, n, hits int) (duplicates, error) {
	n -= n % 2
	d := duplicates{Events: n, Images: n / 2}
	imgs, err := pngImages(d.Images)
	if err != nil {
		return d, err
	}
	if err := b.fresh(ctx); err != nil {
		return d, err
	}
	err = b.publishEvents(ctx, n, func(i int) []byte {
		return inlineEvent("dup-"+strconv.Itoa(i), imgs[repeatedImage(i, n)])
	})
	if err != nil {
		return d, err
	}
	reg := prometheus.NewRegistry()
	t, err := b.drainRemembering(ctx, f, reg, n)
	if err != nil {
		return d, err
	}
	d.Seconds = t.Seconds
	d.Calls, d.Inputs = f.srv.Calls(), f.srv.Inputs()
	d.InputsPerEvent = float64(d.Inputs) / float64(n)
	fams, err := reg.Gather()
	if err != nil {
		return d, fmt.Errorf("worker metrics: %w", err)
	}
	d.SameCall = int(counter(fams, "worker_predictions_saved_total", "cause", "batch_duplicate"))
	d.InFlight = int(counter(fams, "worker_predictions_saved_total", "cause", "in_flight"))
	d.CacheHits = int(counter(fams, "worker_cache_hits_total", "", ""))
	d.CacheMisses = int(counter(fams, "worker_cache_misses_total", "", ""))

	// Records are written asynchronously once a result is stored: the hit
	// path starts once every image has one.
	if err := b.waitCached(ctx, d.Images); err != nil {
		return d, err
	}
	if err := b.freshStreams(ctx); err != nil {
		return d, err
	}
	err = b.publishEvents(ctx, hits, func(i int) []byte {
		return inlineEvent("hit-"+strconv.Itoa(i), imgs[i%len(imgs)])
	})
	if err != nil {
		return d, err
	}
	if d.HitPath, err = b.drainRemembering(ctx, hf, prometheus.NewRegistry(), hits); err != nil {
		return d, fmt.Errorf("hit path: %w", err)
	}
	d.HitCalls = hf.srv.Calls()
	return d, nil
}

// drainRemembering times the worker with its memo, registering its
// metrics on reg, on the n stored events.
func (b *bench) drainRemembering(ctx context.Context, f *fake, reg prometheus.Registerer, n int) (throughput, error) {
	return b.drainStored(ctx, n, func() (*worker, error) { return b.startRemembering(ctx, f.client, workerConfig(), reg) })
}

// waitCached waits until the result cache holds n records.
func (b *bench) waitCached(ctx context.Context, n int) error {
	s, err := b.drv.js.Stream(ctx, "KV_"+memo.DefaultConfig().CacheBucket)
	if err != nil {
		return fmt.Errorf("cache bucket: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, err := s.Info(ctx)
		if err != nil {
			return fmt.Errorf("cache bucket: %w", err)
		}
		if info.State.Msgs >= uint64(n) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the result cache holds %d of %d images after 30s", info.State.Msgs, n)
		}
		if err := ctxtime.Sleep(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
}

// counter sums the series of the counter family name, those whose label
// has value when label is not empty.
func counter(fams []*dto.MetricFamily, name, label, value string) float64 {
	sum := 0.0
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if label == "" || hasLabel(m, label, value) {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}
