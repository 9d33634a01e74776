package imageprep

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
)

// Options say what Prepare changes. The zero value changes nothing but
// checks the format and the pixel count.
type Options struct {
	// Orient sends a JPEG whose EXIF orientation is not 1 upright, without
	// the tag. Re-encoding for MaxSide orients as well, whatever Orient
	// says, since the tag does not survive it.
	Orient bool
	// MaxSide scales images whose long side is longer down to it; 0 is off.
	MaxSide int
	// MaxPixels refuses larger images with ErrTooManyPixels. Default
	// DefaultMaxPixels (85 million, Clarifai's limit).
	MaxPixels int64
	// Quality of re-encoded JPEGs, 1-100. Default 90.
	Quality int
}

// Validate reports the first setting out of range; Prepare itself takes
// any value (a negative MaxSide is off, Quality is capped at 100).
func (o Options) Validate() error {
	switch {
	case o.MaxSide < 0:
		return fmt.Errorf("%w: MaxSide must not be negative, got %d", ErrInvalidConfig, o.MaxSide)
	case o.MaxPixels < 0:
		return fmt.Errorf("%w: MaxPixels must not be negative, got %d", ErrInvalidConfig, o.MaxPixels)
	case o.Quality < 0 || o.Quality > 100:
		return fmt.Errorf("%w: Quality must be in [0, 100], got %d", ErrInvalidConfig, o.Quality)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.MaxPixels <= 0 {
		o.MaxPixels = DefaultMaxPixels
	}
	if o.Quality <= 0 {
		o.Quality = 90
	}
	o.Quality = min(o.Quality, 100)
	return o
}

// Image is a prepared image.
type Image struct {
	Bytes         []byte
	Format        string // of Bytes: the input's, or "jpeg" or "png" when re-encoded
	Width, Height int    // as sent, upright when Orientation is set
	// Orientation is the EXIF orientation that was corrected, 0 when none.
	Orientation int
	// Original is the upright size before scaling, nil when not scaled.
	Original *Size
}

// Size is a width and height in pixels.
type Size struct{ Width, Height int }

// plan is what Prepare will do to an image.
type plan struct {
	orientation int  // to correct; 1 is none
	scaled      bool // w, h differ from the header's
	w, h        int  // size before orientation
}

func (h Header) plan(o Options) plan {
	p := plan{orientation: 1, w: h.Width, h: h.Height}
	if long := max(h.Width, h.Height); o.MaxSide > 0 && long > o.MaxSide {
		p.scaled = true
		short := max(1, int((int64(min(h.Width, h.Height))*int64(o.MaxSide)+int64(long)/2)/int64(long)))
		if h.Width >= h.Height {
			p.w, p.h = o.MaxSide, short
		} else {
			p.w, p.h = short, o.MaxSide
		}
	}
	if h.Orientation != 1 && (o.Orient || p.scaled) {
		p.orientation = h.Orientation
	}
	return p
}

func (p plan) changes() bool { return p.scaled || p.orientation != 1 }

// Prepare returns data upright (opts.Orient) and no larger than
// opts.MaxSide. An image that needs neither is returned as is, the same
// slice, not re-encoded. It never panics: malformed data, and a decoder
// that panics on it, give ErrUnsupportedFormat.
func Prepare(data []byte, opts Options) (img Image, err error) {
	opts = opts.withDefaults()
	h, err := inspect(data, opts.MaxPixels)
	if err != nil {
		return Image{}, err
	}
	p := h.plan(opts)
	if !p.changes() {
		return Image{Bytes: data, Format: h.Format, Width: h.Width, Height: h.Height}, nil
	}
	defer func() {
		if r := recover(); r != nil {
			img, err = Image{}, fmt.Errorf("%w: %s decoder panicked: %v", ErrUnsupportedFormat, h.Format, r)
		}
	}()
	m, err := h.decodePixels(data)
	if err != nil {
		return Image{}, err
	}
	// A GIF's first frame may cover part of its screen; nothing else may
	// disagree with its header.
	if b := m.Bounds(); b.Empty() || !b.In(image.Rect(0, 0, h.Width, h.Height)) {
		return Image{}, fmt.Errorf("%w: header says %dx%d, pixels are %v", ErrUnsupportedFormat, h.Width, h.Height, b)
	}
	out, err := transform(m, p, h, opts.Quality)
	if err != nil {
		return Image{}, err
	}
	out.Orientation = 0
	if p.orientation != 1 {
		out.Orientation = p.orientation
	}
	if p.scaled {
		out.Original = &Size{h.Width, h.Height}
		if p.orientation >= 5 {
			out.Original = &Size{h.Height, h.Width}
		}
	}
	return out, nil
}

func (h Header) decodePixels(data []byte) (image.Image, error) {
	var m image.Image
	var err error
	if h.Format == "jpeg" {
		m, err = jpeg.Decode(bytes.NewReader(data))
	} else {
		f, _ := sniff(data)
		m, err = f.decode(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s data: %w", ErrUnsupportedFormat, h.Format, err)
	}
	return m, nil
}

// transform scales and orients m as p says and encodes the result.
func transform(m image.Image, p plan, h Header, quality int) (Image, error) {
	jq := &jpeg.Options{Quality: quality}
	whole := m.Bounds() == image.Rect(0, 0, h.Width, h.Height)
	switch m := m.(type) {
	case *image.YCbCr:
		if r, ok := transposed(m.SubsampleRatio); whole && (ok || p.orientation < 5) {
			out := transformYCbCr(m, p, r)
			return encodeJPEG(out, jq, h.jpeg.icc)
		}
	case *image.Gray:
		if !whole {
			break
		}
		src := plane{pix: m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y):], w: h.Width, h: h.Height, stride: m.Stride, ch: 1}
		out := image.NewGray(outRect(p))
		transformPlane(plane{pix: out.Pix, w: out.Rect.Dx(), h: out.Rect.Dy(), stride: out.Stride, ch: 1}, src, p)
		return encodeJPEG(out, jq, h.jpeg.icc)
	}
	// Everything else goes through premultiplied RGBA. ICC profiles are
	// dropped here: a CMYK profile would not describe the RGB output.
	rgba, ok := m.(*image.RGBA)
	if !ok || !whole {
		rgba = image.NewRGBA(image.Rect(0, 0, h.Width, h.Height))
		draw.Draw(rgba, m.Bounds(), m, m.Bounds().Min, draw.Src)
	}
	src := plane{pix: rgba.Pix, w: h.Width, h: h.Height, stride: rgba.Stride, ch: 4}
	out := image.NewRGBA(outRect(p))
	transformPlane(plane{pix: out.Pix, w: out.Rect.Dx(), h: out.Rect.Dy(), stride: out.Stride, ch: 4}, src, p)
	if !out.Opaque() {
		return encodePNG(out)
	}
	return encodeJPEG(out, jq, nil)
}

// outRect is the upright output size.
func outRect(p plan) image.Rectangle {
	if p.orientation >= 5 {
		return image.Rect(0, 0, p.h, p.w)
	}
	return image.Rect(0, 0, p.w, p.h)
}

// transformYCbCr works on the planes as decoded: chroma keeps its
// subsampling, so scaling and turning cost half the work of RGB for 4:2:0.
func transformYCbCr(m *image.YCbCr, p plan, upright image.YCbCrSubsampleRatio) *image.YCbCr {
	if p.orientation < 5 {
		upright = m.SubsampleRatio
	}
	out := image.NewYCbCr(outRect(p), upright)
	dst := ycbcrPlanes(out)
	for i, src := range ycbcrPlanes(m) {
		transformPlane(dst[i], src, p)
	}
	return out
}

// transformPlane scales src to dst's size (before orientation) and orients
// it into dst.
func transformPlane(dst, src plane, p plan) {
	w, h := dst.w, dst.h
	if p.orientation >= 5 {
		w, h = h, w
	}
	if w != src.w || h != src.h {
		scaled := newPlane(w, h, src.ch)
		resample(scaled, src)
		src = scaled
	}
	orient(dst, src, p.orientation)
}
