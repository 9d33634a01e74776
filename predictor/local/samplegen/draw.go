package samplegen

import (
	"image"
	"image/color"
	"image/draw"
)

func newCanvas(w, h int, bg string) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fill(img, img.Bounds(), css(bg))
	return img
}

func fill(img draw.Image, r image.Rectangle, c color.Color) {
	draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
}

// fillShape paints the pixels whose centres satisfy inside.
func fillShape(img *image.RGBA, c color.Color, inside func(x, y float64) bool) {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if inside(float64(x)+0.5, float64(y)+0.5) {
				img.Set(x, y, c)
			}
		}
	}
}

func disc(cx, cy, r float64) func(x, y float64) bool {
	return func(x, y float64) bool { return (x-cx)*(x-cx)+(y-cy)*(y-cy) < r*r }
}

func redSquareOnBlue() image.Image {
	img := newCanvas(160, 120, "blue")
	fill(img, image.Rect(50, 30, 110, 90), css("red"))
	return img
}

func greenCircleOnWhite() image.Image {
	img := newCanvas(128, 128, "white")
	fillShape(img, css("green"), disc(64, 64, 40))
	return img
}

func tricolour() image.Image {
	img := newCanvas(150, 100, "white")
	fill(img, image.Rect(0, 0, 50, 100), css("navy"))
	fill(img, image.Rect(100, 0, 150, 100), css("crimson"))
	return img
}

func crossFlag() image.Image {
	img := newCanvas(185, 140, "red")
	fill(img, image.Rect(60, 0, 80, 140), css("white"))
	fill(img, image.Rect(0, 60, 185, 80), css("white"))
	return img
}

func pastelQuarters() image.Image {
	img := newCanvas(120, 120, "lightpink")
	fill(img, image.Rect(60, 0, 120, 60), css("lavender"))
	fill(img, image.Rect(0, 60, 60, 120), css("palegreen"))
	fill(img, image.Rect(60, 60, 120, 120), css("peachpuff"))
	return img
}

// orangeDisc is an orange disc on a fully transparent background.
func orangeDisc() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 100, 100))
	fillShape(img, css("orange"), disc(50, 50, 30))
	return img
}

// skyAndSea is a pale-to-deep blue sky over a darker sea, with a sun.
func skyAndSea() image.Image {
	const w, h, horizon = 240, 160, 96
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	sky0, sky1 := css("lightskyblue"), css("steelblue")
	sea0, sea1 := css("teal"), css("midnightblue")
	for y := range h {
		c := mix(sky0, sky1, float64(y)/horizon)
		if y >= horizon {
			c = mix(sea0, sea1, float64(y-horizon)/(h-horizon))
		}
		fill(img, image.Rect(0, y, w, y+1), c)
	}
	fillShape(img, css("gold"), disc(180, 40, 18))
	return img
}

func trafficLight() image.Image {
	img := newCanvas(90, 220, "darkslategray")
	fillShape(img, css("red"), disc(45, 45, 28))
	fillShape(img, css("gold"), disc(45, 110, 28))
	fillShape(img, css("limegreen"), disc(45, 175, 28))
	return img
}

// nightSky is dark blue with a few stars and a moon.
func nightSky() image.Image {
	img := newCanvas(200, 120, "midnightblue")
	star := css("white")
	for i := range 40 {
		x, y := (i*73+11)%200, (i*37+5)%120
		fill(img, image.Rect(x, y, x+2, y+2), star)
	}
	fillShape(img, css("lightyellow"), disc(160, 30, 12))
	return img
}

func checkerboard() image.Image {
	img := newCanvas(96, 96, "white")
	for y := 0; y < 96; y += 12 {
		for x := (y / 12 % 2) * 12; x < 96; x += 24 {
			fill(img, image.Rect(x, y, x+12, y+12), css("black"))
		}
	}
	return img
}

func yellowTriangle() image.Image {
	img := newCanvas(120, 120, "black")
	fillShape(img, css("yellow"), func(x, y float64) bool {
		return y > 20 && y < 100 && x > 60-(y-20)/2 && x < 60+(y-20)/2
	})
	return img
}

func mix(a, b color.RGBA, f float64) color.RGBA {
	f = min(max(f, 0), 1)
	m := func(p, q uint8) uint8 { return uint8(float64(p)*(1-f) + float64(q)*f + 0.5) }
	return color.RGBA{m(a.R, b.R), m(a.G, b.G), m(a.B, b.B), 255}
}
