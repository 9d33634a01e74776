package local

import (
	"image"
	"image/color"
)

// pixelReader reads rows of an image as opaque sRGB, compositing any
// transparency over white. It has fast paths for what the decoders return.
type pixelReader struct {
	img     image.Image
	b       image.Rectangle
	palette []rgb // for *image.Paletted
}

func newPixelReader(img image.Image) *pixelReader {
	r := &pixelReader{img: img, b: img.Bounds()}
	if p, ok := img.(*image.Paletted); ok {
		r.palette = make([]rgb, 256)
		for i, c := range p.Palette {
			r.palette[i] = overWhite(c)
		}
	}
	return r
}

func overWhite(c color.Color) rgb {
	r, g, b, a := c.RGBA()
	return rgb{uint8((r + 0xffff - a) >> 8), uint8((g + 0xffff - a) >> 8), uint8((b + 0xffff - a) >> 8)}
}

// row fills dst (len = width) with row y, counted from the top (0-based).
func (r *pixelReader) row(y int, dst []rgb) {
	y += r.b.Min.Y
	x0 := r.b.Min.X
	switch img := r.img.(type) {
	case *image.YCbCr:
		ys, cb, cr, cw := ycbcrRow(img, x0, y)
		for x := range dst {
			ci := (x0+x)>>cw - x0>>cw
			r, g, b := color.YCbCrToRGB(ys[x], cb[ci], cr[ci])
			dst[x] = rgb{r, g, b}
		}
	case *image.Gray:
		pix := img.Pix[img.PixOffset(x0, y):]
		for x := range dst {
			v := pix[x]
			dst[x] = rgb{v, v, v}
		}
	case *image.RGBA:
		pix := img.Pix[img.PixOffset(x0, y):]
		for x := range dst {
			p := pix[4*x : 4*x+4 : 4*x+4]
			w := 255 - p[3]
			dst[x] = rgb{p[0] + w, p[1] + w, p[2] + w}
		}
	case *image.NRGBA:
		pix := img.Pix[img.PixOffset(x0, y):]
		for x := range dst {
			p := pix[4*x : 4*x+4 : 4*x+4]
			a := uint32(p[3])
			w := 255 - a
			dst[x] = rgb{
				uint8((uint32(p[0])*a + 255*w + 127) / 255),
				uint8((uint32(p[1])*a + 255*w + 127) / 255),
				uint8((uint32(p[2])*a + 255*w + 127) / 255),
			}
		}
	case *image.Paletted:
		pix := img.Pix[img.PixOffset(x0, y):]
		for x := range dst {
			dst[x] = r.palette[pix[x]]
		}
	default:
		for x := range dst {
			dst[x] = overWhite(img.At(x0+x, y))
		}
	}
}

// ycbcrRow returns row y's luma from column x0 on, its chroma rows, and
// the log2 of the horizontal chroma subsampling.
func ycbcrRow(img *image.YCbCr, x0, y int) (ys, cb, cr []uint8, cw int) {
	switch img.SubsampleRatio {
	case image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420:
		cw = 1
	case image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410:
		cw = 2
	}
	ci := img.COffset(x0, y)
	return img.Y[img.YOffset(x0, y):], img.Cb[ci:], img.Cr[ci:], cw
}

// keys fills dst with row y's colours quantised to 5 bits a channel, in
// the image's own colour space (YCbCr for JPEG, saving the conversion),
// for the assignment lookup table. keyColor gives a key's bin centre.
func (r *pixelReader) keys(y int, dst []uint16, row []rgb) {
	if img, ok := r.img.(*image.YCbCr); ok {
		x0 := r.b.Min.X
		ys, cb, cr, cw := ycbcrRow(img, x0, y+r.b.Min.Y)
		for x := range dst {
			ci := (x0+x)>>cw - x0>>cw
			dst[x] = key(ys[x], cb[ci], cr[ci])
		}
		return
	}
	r.row(y, row)
	for x, c := range row {
		dst[x] = key(c.r, c.g, c.b)
	}
}

func key(a, b, c uint8) uint16 { return uint16(a>>3)<<10 | uint16(b>>3)<<5 | uint16(c>>3) }

func (r *pixelReader) keyColor(k uint16) rgb {
	a, b, c := uint8(k>>10)<<3|4, uint8(k>>5&31)<<3|4, uint8(k&31)<<3|4
	if _, ok := r.img.(*image.YCbCr); ok {
		a, b, c = color.YCbCrToRGB(a, b, c)
	}
	return rgb{a, b, c}
}
