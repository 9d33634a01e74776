package imageprep_test

import (
	"bytes"
	"image/jpeg"
	"sync"
	"testing"

	"github.com/imgpredict/worker/imageprep"
	"github.com/imgpredict/worker/internal/photo"
)

// phoneJPEG is a 12-megapixel (4032x3024) JPEG as a phone takes it in
// portrait: stored sideways with EXIF orientation 6, about 3.5 MB.
var phoneJPEG = sync.OnceValue(func() []byte { return photo.Phone(4032, 3024) })

// BenchmarkPrepare times one 12 MP phone JPEG; run it with -cpu 1 for
// the figures per core. "decode" is image/jpeg's full decode alone, the
// ceiling of any pure-Go path that decodes at full size; the goal for
// "rotate+scale" is 30 images/s per core.
func BenchmarkPrepare(b *testing.B) {
	data := phoneJPEG()
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
	})
	for _, bc := range []struct {
		name string
		opts imageprep.Options
	}{
		{"rotate", imageprep.Options{Orient: true}},
		{"rotate+scale1024", imageprep.Options{Orient: true, MaxSide: 1024}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			var img imageprep.Image
			var err error
			for b.Loop() {
				if img, err = imageprep.Prepare(data, bc.opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
			b.ReportMetric(float64(len(img.Bytes))/float64(len(data)), "out/in")
		})
	}
}
