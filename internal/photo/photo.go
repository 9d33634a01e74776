// Package photo makes JPEGs that stand in for phone photos in tests and
// benchmarks: gradients plus noise, so that they compress like photos,
// stored sideways with an EXIF orientation as phones store portraits.
package photo

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"
	"math/rand/v2"
)

// Phone is a w×h JPEG at quality 92, 4:2:0, with EXIF orientation 6 (the
// pixels are stored sideways). 4032×3024 is a 12-megapixel phone photo,
// about 3.5 MB.
func Phone(w, h int) []byte {
	m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	r := rand.New(rand.NewPCG(12, 6))
	for y := range h {
		for x := range w {
			m.Y[y*m.YStride+x] = uint8(min(max(40+150*x/w+40*y/h+r.IntN(17)-8, 0), 255))
		}
	}
	for y := range (h + 1) / 2 {
		for x := range (w + 1) / 2 {
			m.Cb[y*m.CStride+x] = uint8(100 + 60*y/h + r.IntN(9))
			m.Cr[y*m.CStride+x] = uint8(150 - 60*x/w + r.IntN(9))
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: 92}); err != nil {
		panic(err) // a bytes.Buffer does not fail
	}
	return WithOrientation(b.Bytes(), 6)
}

// WithOrientation adds an EXIF APP1 segment after the JPEG's SOI whose
// IFD0 holds only the orientation tag, big-endian as many cameras write
// it.
func WithOrientation(jpg []byte, o int) []byte {
	exif := []byte("Exif\x00\x00MM\x00*\x00\x00\x00\x08" + // TIFF header, IFD0 at 8
		"\x00\x01" + // one entry
		"\x01\x12\x00\x03\x00\x00\x00\x01\x00\x00\x00\x00" + // 0x0112 SHORT x1
		"\x00\x00\x00\x00") // no next IFD
	exif[6+8+2+8+1] = byte(o)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(exif)+2))
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, exif...)
	return append(out, jpg[2:]...)
}
