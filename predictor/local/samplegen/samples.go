package samplegen

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"

	"golang.org/x/image/colornames"
)

// Sample is one bundled image.
type Sample struct {
	Name string // file name, with the format's extension
	Data []byte
	// Colors are CSS colour names local-color reports for it, largest share first.
	Colors []string
}

type scene struct {
	name   string
	draw   func() image.Image
	colors []string
}

var scenes = []scene{
	{"red-square-on-blue.png", redSquareOnBlue, []string{"blue", "red"}},
	{"green-circle-on-white.png", greenCircleOnWhite, []string{"white", "green"}},
	{"tricolour-flag.png", tricolour, []string{"navy", "white", "crimson"}},
	{"cross-flag.png", crossFlag, []string{"red", "white"}},
	{"pastel-quarters.png", pastelQuarters, []string{"lightpink", "lavender", "palegreen", "peachpuff"}},
	{"orange-disc-transparent.png", orangeDisc, []string{"white", "orange"}},
	{"sky-and-sea.jpg", skyAndSea, []string{"lightskyblue", "teal", "steelblue", "midnightblue", "gold"}},
	{"traffic-light.jpg", trafficLight, []string{"darkslategray", "red", "gold", "limegreen"}},
	{"night-sky.jpg", nightSky, []string{"midnightblue", "ivory"}},
	{"checkerboard.gif", checkerboard, []string{"black", "white"}},
	{"yellow-triangle-on-black.gif", yellowTriangle, []string{"black", "yellow"}},
}

// All draws and encodes every sample, in a fixed order.
func All() ([]Sample, error) {
	out := make([]Sample, 0, len(scenes))
	for _, s := range scenes {
		data, err := encode(s.name, s.draw())
		if err != nil {
			return nil, fmt.Errorf("sample %s: %w", s.name, err)
		}
		out = append(out, Sample{Name: s.name, Data: data, Colors: s.colors})
	}
	return out, nil
}

// WriteDir writes every sample into dir, which must exist.
func WriteDir(dir string) error {
	samples, err := All()
	if err != nil {
		return err
	}
	for _, s := range samples {
		if err := os.WriteFile(filepath.Join(dir, s.Name), s.Data, 0o644); err != nil {
			return fmt.Errorf("writing sample: %w", err)
		}
	}
	return nil
}

func encode(name string, img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	var err error
	switch ext := filepath.Ext(name); ext {
	case ".png":
		err = (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img)
	case ".jpg":
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85})
	case ".gif":
		err = gif.Encode(&buf, exactPalette(img), nil)
	default:
		err = fmt.Errorf("unknown extension %q", ext)
	}
	return buf.Bytes(), err
}

// exactPalette converts a flat drawing to a paletted image of exactly its
// colours; the GIF encoder's default palette would otherwise shift them.
func exactPalette(img image.Image) image.Image {
	b := img.Bounds()
	var pal color.Palette
	seen := map[color.Color]bool{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if c := img.At(x, y); !seen[c] {
				if len(pal) == 256 {
					return img // too many colours: let the encoder quantise
				}
				seen[c] = true
				pal = append(pal, c)
			}
		}
	}
	p := image.NewPaletted(b, pal)
	draw.Draw(p, b, img, b.Min, draw.Src)
	return p
}

// css is a colour keyword's value.
func css(name string) color.RGBA {
	c, ok := colornames.Map[name]
	if !ok {
		panic("samplegen: unknown CSS colour " + name)
	}
	return c
}
