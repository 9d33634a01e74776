package local_test

import (
	"image"
	"testing"

	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/predictor/local"
)

// BenchmarkPredict analyses one 640x480 JPEG per op on one worker.
func BenchmarkPredict(b *testing.B) {
	img := gradient(640, 480)
	fillRect(img, image.Rect(200, 150, 440, 330), red)
	data := encode(b, img, "jpeg")
	p := newPredictor(b, local.Config{Workers: 1})
	req := predictor.Request{Inputs: []predictor.Input{{ID: "bench", Bytes: data}}}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if out := p.Predict(b.Context(), req); out[0].Err != nil {
			b.Fatal(out[0].Err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}
