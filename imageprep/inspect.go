package imageprep

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"io"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// DefaultMaxPixels is Clarifai's limit on an image's pixel count.
const DefaultMaxPixels = 85_000_000

// Header is what the first bytes of an image say, read without decoding
// pixels.
type Header struct {
	Format        string // "jpeg", "png", "gif", "bmp", "tiff" or "webp"
	Width, Height int    // as stored, before any orientation
	Orientation   int    // EXIF 1-8 (JPEG only), 1 when absent

	size   int         // bytes of the encoded image
	decode float64     // bytes of pixel memory the decoder allocates
	model  color.Model // what the decoder produces
	jpeg   jpegInfo    // for JPEG only
}

// format is one accepted image format: its magic bytes and how to read
// its header. Formats are sniffed here rather than by image.Decode so
// that formats other packages register globally are not accepted.
type format struct {
	name   string
	magic  func([]byte) bool
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
	// copies is how many pixel-sized buffers the decoder allocates (PNG
	// interlacing takes a second), perPixel what it adds per pixel
	// whatever the pixel size: x/image/tiff grows a strip's buffer up to
	// 8 bytes a pixel by doubling, 32 bytes a pixel allocated in all.
	copies, perPixel float64
}

var formats = []format{
	{name: "jpeg", magic: prefix("\xff\xd8\xff"), copies: 1}, // header read by parseJPEG
	{name: "png", magic: prefix("\x89PNG\r\n\x1a\n"), config: png.DecodeConfig, decode: png.Decode, copies: 2},
	{name: "gif", magic: func(b []byte) bool {
		return bytes.HasPrefix(b, []byte("GIF87a")) || bytes.HasPrefix(b, []byte("GIF89a"))
	},
		config: gif.DecodeConfig, decode: gif.Decode, copies: 1},
	{name: "bmp", magic: prefix("BM"), config: bmp.DecodeConfig, decode: bmp.Decode, copies: 1},
	{name: "tiff", magic: func(b []byte) bool {
		return bytes.HasPrefix(b, []byte("II*\x00")) || bytes.HasPrefix(b, []byte("MM\x00*"))
	},
		config: tiff.DecodeConfig, decode: tiff.Decode, copies: 1, perPixel: 32},
	{name: "webp", magic: func(b []byte) bool { return len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP" },
		config: webp.DecodeConfig, decode: webp.Decode, copies: 2},
}

func prefix(p string) func([]byte) bool {
	return func(b []byte) bool { return bytes.HasPrefix(b, []byte(p)) }
}

// Inspect reads the format, size and orientation of data without
// decoding pixels. It fails with ErrUnsupportedFormat when the magic bytes
// are not those of JPEG, PNG, GIF, BMP, TIFF or WebP or the header is
// unreadable, and with ErrTooManyPixels (returning the Header too) above
// DefaultMaxPixels.
func Inspect(data []byte) (Header, error) {
	return inspect(data, DefaultMaxPixels)
}

func inspect(data []byte, maxPixels int64) (h Header, err error) {
	defer func() {
		if r := recover(); r != nil { // a decoder bug must not take the worker down
			h, err = Header{}, fmt.Errorf("%w: header reader panicked: %v", ErrUnsupportedFormat, r)
		}
	}()
	f, ok := sniff(data)
	if !ok {
		return Header{}, fmt.Errorf("%w: magic bytes are not JPEG, PNG, GIF, BMP, TIFF or WebP", ErrUnsupportedFormat)
	}
	h = Header{Format: f.name, Orientation: 1, size: len(data)}
	if f.name == "jpeg" {
		if h.jpeg, err = parseJPEG(data); err != nil {
			return Header{}, fmt.Errorf("%w: %w", ErrUnsupportedFormat, err)
		}
		h.Width, h.Height, h.Orientation = h.jpeg.width, h.jpeg.height, h.jpeg.orientation
		h.model = color.YCbCrModel
		switch len(h.jpeg.comps) {
		case 1:
			h.model = color.GrayModel
		case 4:
			h.model = color.CMYKModel
		}
	} else {
		cfg, err := f.config(bytes.NewReader(data))
		if err != nil {
			return Header{}, fmt.Errorf("%w: %s header: %w", ErrUnsupportedFormat, f.name, err)
		}
		h.Width, h.Height, h.model = cfg.Width, cfg.Height, cfg.ColorModel
	}
	if h.Width <= 0 || h.Height <= 0 {
		return Header{}, fmt.Errorf("%w: %s of %dx%d pixels", ErrUnsupportedFormat, f.name, h.Width, h.Height)
	}
	if px := int64(h.Width) * int64(h.Height); px > maxPixels {
		return h, fmt.Errorf("%w: %dx%d is %d pixels, more than %d", ErrTooManyPixels, h.Width, h.Height, px, maxPixels)
	}
	if f.name == "jpeg" {
		h.decode = h.jpeg.decodeBytes()
	} else {
		h.decode = (f.copies*float64(bytesPerPixel(h.model)) + f.perPixel) * float64(h.Width) * float64(h.Height)
	}
	return h, nil
}

func sniff(data []byte) (format, bool) {
	for _, f := range formats {
		if f.magic(data) {
			return f, true
		}
	}
	return format{}, false
}

// bytesPerPixel is the most memory per pixel an image of model m takes.
func bytesPerPixel(m color.Model) int {
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.YCbCrModel:
		return 3
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 4 // RGBA, NRGBA, NYCbCrA, CMYK
}
