package imageprep

import "image"

// plane is w×h pixels of ch interleaved 8-bit channels: one plane of a
// YCbCr or Gray image (ch 1) or a premultiplied RGBA image (ch 4).
type plane struct {
	pix          []byte
	w, h, stride int
	ch           int
}

func newPlane(w, h, ch int) plane {
	return plane{pix: make([]byte, w*h*ch), w: w, h: h, stride: w * ch, ch: ch}
}

// ycbcrPlanes returns the Y, Cb and Cr planes of m.
func ycbcrPlanes(m *image.YCbCr) [3]plane {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	cw, ch := chromaSize(w, h, m.SubsampleRatio)
	yo, co := m.YOffset(m.Rect.Min.X, m.Rect.Min.Y), m.COffset(m.Rect.Min.X, m.Rect.Min.Y)
	return [3]plane{
		{pix: m.Y[yo:], w: w, h: h, stride: m.YStride, ch: 1},
		{pix: m.Cb[co:], w: cw, h: ch, stride: m.CStride, ch: 1},
		{pix: m.Cr[co:], w: cw, h: ch, stride: m.CStride, ch: 1},
	}
}

// chromaSize is the size of the chroma planes of a w×h image with Min at
// the origin, as image.NewYCbCr lays them out.
func chromaSize(w, h int, r image.YCbCrSubsampleRatio) (int, int) {
	switch r {
	case image.YCbCrSubsampleRatio422:
		return (w + 1) / 2, h
	case image.YCbCrSubsampleRatio420:
		return (w + 1) / 2, (h + 1) / 2
	case image.YCbCrSubsampleRatio440:
		return w, (h + 1) / 2
	case image.YCbCrSubsampleRatio411:
		return (w + 3) / 4, h
	case image.YCbCrSubsampleRatio410:
		return (w + 3) / 4, (h + 1) / 2
	}
	return w, h
}

// transposed is the subsample ratio of m turned by a quarter; ok is false
// for 4:1:1 and 4:1:0, whose transposes image.YCbCr cannot hold.
func transposed(r image.YCbCrSubsampleRatio) (image.YCbCrSubsampleRatio, bool) {
	switch r {
	case image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio420:
		return r, true
	case image.YCbCrSubsampleRatio422:
		return image.YCbCrSubsampleRatio440, true
	case image.YCbCrSubsampleRatio440:
		return image.YCbCrSubsampleRatio422, true
	}
	return r, false
}
