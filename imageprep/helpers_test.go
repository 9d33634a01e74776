package imageprep_test

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"github.com/imgpredict/worker/internal/photo"
)

var (
	red   = color.RGBA{255, 0, 0, 255}
	green = color.RGBA{0, 255, 0, 255}
	blue  = color.RGBA{0, 0, 255, 255}
	white = color.RGBA{255, 255, 255, 255}
)

// quadrants is a w×h image in four blocks: red, green over blue, white.
func quadrants(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for i, c := range []color.RGBA{red, green, blue, white} {
		x, y := i%2*w/2, i/2*h/2
		draw.Draw(m, image.Rect(x, y, x+w/2, y+h/2), image.NewUniform(c), image.Point{}, draw.Src)
	}
	return m
}

// noise is a w×h image of gradients plus noise, compressing like a photo.
func noise(w, h int, seed uint64) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(seed, 1))
	for y := range h {
		for x := range w {
			o := m.PixOffset(x, y)
			m.Pix[o] = uint8(255*x/w + r.IntN(16))
			m.Pix[o+1] = uint8(255*y/h + r.IntN(16))
			m.Pix[o+2] = uint8(r.IntN(256))
			m.Pix[o+3] = 255
		}
	}
	return m
}

func encode(t testing.TB, m image.Image, format string) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	switch format {
	case "jpeg":
		err = jpeg.Encode(&b, m, &jpeg.Options{Quality: 95})
	case "png":
		err = png.Encode(&b, m)
	case "gif":
		err = gif.Encode(&b, m, nil)
	case "bmp":
		err = bmp.Encode(&b, m)
	case "tiff":
		err = tiff.Encode(&b, m, &tiff.Options{Compression: tiff.Deflate})
	default:
		t.Fatalf("no encoder for %s", format)
	}
	require.NoError(t, err)
	return b.Bytes()
}

// withSegment inserts a JPEG segment with marker m right after SOI.
func withSegment(jpg []byte, m byte, payload []byte) []byte {
	seg := []byte{0xFF, m, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

// withOrientation adds an EXIF orientation tag.
func withOrientation(jpg []byte, o int) []byte { return photo.WithOrientation(jpg, o) }

// forgedJPEG is a JPEG header declaring w×h pixels with no data behind it.
func forgedJPEG(w, h int) []byte {
	sof := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 3,
		1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1}
	b := withSegment([]byte{0xFF, 0xD8}, 0xC0, sof)
	return append(b, 0xFF, 0xDA, 0, 2, 0xFF, 0xD9)
}

// allocated is how many bytes f allocates on the heap, kept or not.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func decode(t testing.TB, b []byte) image.Image {
	t.Helper()
	m, _, err := image.Decode(bytes.NewReader(b))
	require.NoError(t, err)
	return m
}

// near reports whether two colours differ by at most tol per channel.
func near(a, b color.Color, tol int) bool {
	r1, g1, b1, _ := a.RGBA()
	r2, g2, b2, _ := b.RGBA()
	d := func(x, y uint32) bool { return abs(int(x>>8)-int(y>>8)) <= tol }
	return d(r1, r2) && d(g1, g2) && d(b1, b2)
}

func abs(x int) int { return max(x, -x) }
