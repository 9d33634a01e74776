package imageprep

import (
	"image"
	"image/jpeg"
	"image/png"
)

// chunks collects an encoder's output in fixed-size pieces, so that
// growing it never copies: the bytes are allocated twice at most, once
// here and once when joined.
type chunks struct{ bufs [][]byte }

const chunkSize = 64 << 10

func (c *chunks) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(c.bufs) == 0 || len(c.bufs[len(c.bufs)-1]) == chunkSize {
			c.bufs = append(c.bufs, make([]byte, 0, chunkSize))
		}
		last := &c.bufs[len(c.bufs)-1]
		k := min(len(p), chunkSize-len(*last))
		*last = append(*last, p[:k]...)
		p = p[k:]
	}
	return n, nil
}

// join returns the output with extra inserted after its first at bytes.
func (c *chunks) join(at int, extra [][]byte) []byte {
	n := 0
	for _, b := range c.bufs {
		n += len(b)
	}
	for _, b := range extra {
		n += len(b)
	}
	out := make([]byte, 0, n)
	for _, b := range c.bufs {
		if at >= 0 && len(out)+len(b) >= at {
			k := at - len(out)
			out = append(out, b[:k]...)
			for _, e := range extra {
				out = append(out, e...)
			}
			b, at = b[k:], -1
		}
		out = append(out, b...)
	}
	return out
}

// encodeJPEG encodes m, with the source's ICC profile segments right
// after SOI so that wide-gamut photos keep their colours. EXIF, XMP and
// every other segment of the source are dropped.
func encodeJPEG(m image.Image, o *jpeg.Options, icc [][]byte) (Image, error) {
	var c chunks
	if err := jpeg.Encode(&c, m, o); err != nil {
		return Image{}, err
	}
	b := m.Bounds()
	return Image{Bytes: c.join(2, icc), Format: "jpeg", Width: b.Dx(), Height: b.Dy()}, nil
}

func encodePNG(m image.Image) (Image, error) {
	var c chunks
	if err := png.Encode(&c, m); err != nil {
		return Image{}, err
	}
	b := m.Bounds()
	return Image{Bytes: c.join(-1, nil), Format: "png", Width: b.Dx(), Height: b.Dy()}, nil
}
