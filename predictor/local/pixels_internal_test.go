package local

import (
	"image"
	"image/color"
	"image/draw"
	"testing"

	"github.com/stretchr/testify/require"
)

// The fast paths of pixelReader must read what image.At says, also for
// sub-images whose bounds do not start at the origin (GIF frames can).
func TestPixelReaderMatchesAt(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 37, 23))
	for y := range 23 {
		for x := range 37 {
			src.Set(x, y, color.NRGBA{uint8(x * 7), uint8(y * 11), uint8(x*y + 3), uint8(255 - x*3)})
		}
	}
	opaque := image.NewRGBA(src.Bounds())
	draw.Draw(opaque, opaque.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(opaque, opaque.Bounds(), src, image.Point{}, draw.Over)

	convert := func(dst draw.Image) image.Image {
		draw.Draw(dst, dst.Bounds(), opaque, image.Point{}, draw.Src)
		return dst
	}
	ycbcr := func(r image.YCbCrSubsampleRatio) image.Image {
		img := image.NewYCbCr(src.Bounds(), r)
		for y := range 23 {
			for x := range 37 {
				c := opaque.RGBAAt(x, y)
				yy, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
				img.Y[img.YOffset(x, y)] = yy
				img.Cb[img.COffset(x, y)] = cb
				img.Cr[img.COffset(x, y)] = cr
			}
		}
		return img
	}
	images := map[string]image.Image{
		"nrgba":    src,
		"rgba":     convert(image.NewRGBA(src.Bounds())),
		"gray":     convert(image.NewGray(src.Bounds())),
		"paletted": convert(image.NewPaletted(src.Bounds(), color.Palette{color.Black, color.White, color.RGBA{200, 10, 10, 255}})),
		"rgba64":   convert(image.NewRGBA64(src.Bounds())),
		"ycbcr444": ycbcr(image.YCbCrSubsampleRatio444),
		"ycbcr422": ycbcr(image.YCbCrSubsampleRatio422),
		"ycbcr420": ycbcr(image.YCbCrSubsampleRatio420),
		"ycbcr411": ycbcr(image.YCbCrSubsampleRatio411),
	}
	sub := image.Rect(5, 3, 30, 20)
	for name, img := range images {
		t.Run(name, func(t *testing.T) {
			for _, im := range []image.Image{img, img.(interface {
				SubImage(image.Rectangle) image.Image
			}).SubImage(sub)} {
				b := im.Bounds()
				pr := newPixelReader(im)
				row := make([]rgb, b.Dx())
				keys := make([]uint16, b.Dx())
				for y := range b.Dy() {
					pr.row(y, row)
					pr.keys(y, keys, make([]rgb, b.Dx()))
					for x := range b.Dx() {
						want := overWhite(im.At(b.Min.X+x, b.Min.Y+y))
						require.InDelta(t, want.r, row[x].r, 1, "(%d,%d) of %v", x, y, b)
						require.InDelta(t, want.g, row[x].g, 1, "(%d,%d) of %v", x, y, b)
						require.InDelta(t, want.b, row[x].b, 1, "(%d,%d) of %v", x, y, b)
						c := pr.keyColor(keys[x])
						require.InDelta(t, want.r, c.r, 12, "key of (%d,%d)", x, y)
						require.InDelta(t, want.g, c.g, 12, "key of (%d,%d)", x, y)
						require.InDelta(t, want.b, c.b, 12, "key of (%d,%d)", x, y)
					}
				}
			}
		})
	}
}
