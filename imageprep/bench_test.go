package imageprep_test

import (
	"bytes"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/imgpredict/worker/imageprep"
)

// phoneJPEG is a 12-megapixel (4032x3024) JPEG as a phone takes it in
// portrait: stored sideways with EXIF orientation 6, quality 92, 4:2:0.
// Gradients plus noise make it compress like a photo: about 3.5 MB.
var phoneJPEG = sync.OnceValue(func() []byte {
	const w, h = 4032, 3024
	m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	r := rand.New(rand.NewPCG(12, 6))
	for y := range h {
		for x := range w {
			m.Y[y*m.YStride+x] = uint8(min(max(40+150*x/w+40*y/h+r.IntN(17)-8, 0), 255))
		}
	}
	for y := range h / 2 {
		for x := range w / 2 {
			m.Cb[y*m.CStride+x] = uint8(100 + 60*y/h + r.IntN(9))
			m.Cr[y*m.CStride+x] = uint8(150 - 60*x/w + r.IntN(9))
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: 92}); err != nil {
		panic(err)
	}
	return withOrientation(b.Bytes(), 6)
})

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
