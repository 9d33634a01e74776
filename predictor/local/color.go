package local

import (
	"fmt"
	"math"

	"golang.org/x/image/colornames"
)

// rgb is an opaque 8-bit sRGB colour.
type rgb struct{ r, g, b uint8 }

// hex is c as "#rrggbb".
func (c rgb) hex() string { return fmt.Sprintf("#%02x%02x%02x", c.r, c.g, c.b) }

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

// fromLab is toLab's inverse, clamped to the sRGB gamut.
func fromLab(c lab) rgb {
	fy := (c.l + 16) / 116
	x := labFInv(fy+c.a/500) * 0.95047
	y := labFInv(fy)
	z := labFInv(fy-c.b/200) * 1.08883
	return rgb{
		gamma(3.2404542*x - 1.5371385*y - 0.4985314*z),
		gamma(-0.9692660*x + 1.8760108*y + 0.0415560*z),
		gamma(0.0556434*x - 0.2040259*y + 1.0572252*z),
	}
}

func labFInv(f float64) float64 {
	if t := f * f * f; t > 216.0/24389 {
		return t
	}
	return (116*f - 16) * 27 / 24389
}

// gamma maps linear light to an 8-bit sRGB channel.
func gamma(v float64) uint8 {
	if v <= 0.0031308 {
		v *= 12.92
	} else {
		v = 1.055*math.Pow(v, 1/2.4) - 0.055
	}
	return uint8(math.Round(255 * min(max(v, 0), 1)))
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

// cssHex is the "#rrggbb" of a CSS colour keyword.
func cssHex(name string) string {
	c := colornames.Map[name]
	return rgb{c.R, c.G, c.B}.hex()
}

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
