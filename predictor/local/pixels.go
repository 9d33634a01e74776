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
		for x := range dst {
			yi, ci := img.YOffset(x0+x, y), img.COffset(x0+x, y)
			cr, cg, cb := color.YCbCrToRGB(img.Y[yi], img.Cb[ci], img.Cr[ci])
			dst[x] = rgb{cr, cg, cb}
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
