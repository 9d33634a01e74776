package local

import (
	"math"

	"golang.org/x/image/colornames"
)

// rgb is an opaque 8-bit sRGB colour.
type rgb struct{ r, g, b uint8 }

// lab is a CIELAB colour (D65 white), where Euclidean distance roughly
// follows perceived difference (CIE76 ΔE).
type lab struct{ l, a, b float64 }

func (c lab) dist2(o lab) float64 {
	dl, da, db := c.l-o.l, c.a-o.a, c.b-o.b
	return dl*dl + da*da + db*db
}

func (c lab) chroma() float64 { return math.Hypot(c.a, c.b) }

// linear maps an 8-bit sRGB channel to linear light.
var linear = func() (t [256]float64) {
	for i := range t {
		v := float64(i) / 255
		if v <= 0.04045 {
			t[i] = v / 12.92
		} else {
			t[i] = math.Pow((v+0.055)/1.055, 2.4)
		}
	}
	return t
}()

func toLab(c rgb) lab {
	r, g, b := linear[c.r], linear[c.g], linear[c.b]
	x := (0.4124564*r + 0.3575761*g + 0.1804375*b) / 0.95047
	y := 0.2126729*r + 0.7151522*g + 0.0721750*b
	z := (0.0193339*r + 0.1191920*g + 0.9503041*b) / 1.08883
	fx, fy, fz := labF(x), labF(y), labF(z)
	return lab{l: 116*fy - 16, a: 500 * (fx - fy), b: 200 * (fy - fz)}
}

func labF(t float64) float64 {
	const eps = 216.0 / 24389
	if t > eps {
		return math.Cbrt(t)
	}
	return (24389.0/27*t + 16) / 116
}

type namedColor struct {
	name string
	lab  lab
}

// cssColors are the 147 CSS/SVG colour keywords in alphabetical order, so
// that of two aliases (aqua/cyan, gray/grey, ...) the first always wins.
var cssColors = func() []namedColor {
	out := make([]namedColor, 0, len(colornames.Names))
	for _, n := range colornames.Names {
		c := colornames.Map[n]
		out = append(out, namedColor{name: n, lab: toLab(rgb{c.R, c.G, c.B})})
	}
	return out
}()

// nearestName is the CSS colour keyword closest to c.
func nearestName(c lab) string {
	best, bestD := "", math.Inf(1)
	for _, n := range cssColors {
		if d := c.dist2(n.lab); d < bestD {
			best, bestD = n.name, d
		}
	}
	return best
}
