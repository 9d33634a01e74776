package imageprep

import "image/color"

// encoderOverhead covers the fixed state of the decoders and encoders
// (deflate's hash chains are most of it).
const encoderOverhead = 1 << 20

// DecodeBytes is how many bytes Prepare allocates at most for data with
// this header under opts: the decoded pixels, the working copies and the
// encoded output. It is 0 when Prepare returns the input unchanged.
// Callers count it against their memory budget before calling Prepare.
// For a 12-megapixel 4:2:0 phone JPEG it is 86 MB to turn it upright (43
// allocated in the benchmark) and 35 MB to scale it to 1024 pixels (25).
func (h Header) DecodeBytes(opts Options) int64 {
	opts = opts.withDefaults()
	p := h.plan(opts)
	if !p.changes() || int64(h.Width)*int64(h.Height) > opts.MaxPixels {
		return 0
	}
	px := float64(h.Width) * float64(h.Height)
	out := float64(p.w) * float64(p.h)
	n := h.decode + encoderOverhead
	spp, planar := h.samplesPerPixel()
	if !planar {
		n += 4 * px // conversion to RGBA
	}
	if p.scaled {
		n += spp * px / 4                           // averaged 2×2 or more
		n += spp * float64(p.w) * float64(h.Height) // scaled across
		n += spp * out                              // scaled down
		n += 40 * float64(h.Width+h.Height)         // filter taps
	}
	n += spp * out // oriented output
	// The encoded output, allocated twice (chunks, then joined). JPEG's
	// term is measured with twice the margin: pure noise encodes to 0.9
	// bytes a pixel at quality 90 and 2 at quality 100. What may have
	// alpha may become a PNG: 4 bytes a pixel, deflate adds framing only.
	enc := 5.0
	switch {
	case planar && opts.Quality <= 90:
		enc = 2
	case planar:
		enc = 4
	}
	n += 2 * (enc*out + chunkSize)
	return int64(n)
}

// samplesPerPixel is the working copy's bytes per pixel, and whether it
// is kept as planes (JPEG and WebP YCbCr, grey JPEG) rather than RGBA.
func (h Header) samplesPerPixel() (float64, bool) {
	switch {
	case h.Format == "jpeg" && len(h.jpeg.comps) == 1:
		return 1, true
	case h.Format == "jpeg" && len(h.jpeg.comps) == 3 && !h.jpeg.rgb():
		c := h.jpeg.comps
		if c[1].h != c[2].h || c[1].v != c[2].v || c[0].h%c[1].h != 0 || c[0].v%c[1].v != 0 {
			return 4, false
		}
		hs, vs := c[0].h/c[1].h, c[0].v/c[1].v
		if hs > 2 || vs > 2 { // 4:1:1 and 4:1:0 go through RGBA
			return 4, false
		}
		return 1 + 2/float64(hs*vs), true
	case h.model == color.YCbCrModel: // lossy WebP
		return 1.5, true
	}
	return 4, false
}
