package local

import (
	"bytes"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/webp"
)

// format is one image format the predictor accepts. The predictor sniffs
// formats itself instead of using image.Decode, so that formats other
// packages register globally are not silently accepted.
type format struct {
	name   string
	match  func(b []byte) bool
	decode func(io.Reader) (image.Image, error)
	config func(io.Reader) (image.Config, error)
}

var formats = []format{
	{"jpeg", prefix("\xff\xd8\xff"), jpeg.Decode, jpeg.DecodeConfig},
	{"png", prefix("\x89PNG\r\n\x1a\n"), png.Decode, png.DecodeConfig},
	{"gif", prefix("GIF8"), gif.Decode, gif.DecodeConfig}, // GIF87a, GIF89a
	{"webp", isWebP, webp.Decode, webp.DecodeConfig},
}

func isWebP(b []byte) bool {
	return len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP"
}

func prefix(p string) func([]byte) bool {
	return func(b []byte) bool { return bytes.HasPrefix(b, []byte(p)) }
}

// decode checks size and format, then decodes the first frame.
func (p *Predictor) decode(data []byte) (image.Image, string, error) {
	if int64(len(data)) > p.cfg.Fetch.MaxBytes {
		return nil, "", tooLargeError(fmt.Sprintf("%d bytes exceed %d", len(data), p.cfg.Fetch.MaxBytes))
	}
	for _, f := range formats {
		if !f.match(data) {
			continue
		}
		cfg, err := f.config(bytes.NewReader(data))
		if err != nil {
			return nil, f.name, unsupportedError("corrupt "+f.name+" header", err)
		}
		if cfg.Width <= 0 || cfg.Height <= 0 {
			return nil, f.name, unsupportedError(fmt.Sprintf("%s of %dx%d pixels", f.name, cfg.Width, cfg.Height), ErrUnsupportedFormat)
		}
		if cfg.Width > p.cfg.MaxPixels/cfg.Height {
			return nil, f.name, tooLargeError(fmt.Sprintf("%dx%d pixels exceed %d", cfg.Width, cfg.Height, p.cfg.MaxPixels))
		}
		img, err := f.decode(bytes.NewReader(data))
		if err != nil {
			return nil, f.name, unsupportedError("corrupt "+f.name+" data", err)
		}
		return img, f.name, nil
	}
	return nil, "", unsupportedError("not JPEG, PNG, GIF or WebP", ErrUnsupportedFormat)
}
