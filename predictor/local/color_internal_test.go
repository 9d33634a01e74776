package local

import (
	"testing"
)

// TestFromLabInvertsToLab: every 8-bit colour (in steps of 3 a channel,
// both ends included) comes back from CIELAB unchanged.
func TestFromLabInvertsToLab(t *testing.T) {
	for r := 0; r <= 255; r += 3 {
		for g := 0; g <= 255; g += 3 {
			for b := 0; b <= 255; b += 3 {
				c := rgb{uint8(r), uint8(g), uint8(b)}
				if got := fromLab(toLab(c)); got != c {
					t.Fatalf("fromLab(toLab(%v)) = %v", c, got)
				}
			}
		}
	}
	// Far outside sRGB: green below 0 and blue above 1 are clamped.
	if got := fromLab(lab{l: 50, a: 120, b: -120}); got.g != 0 || got.b != 255 {
		t.Fatalf("out of gamut: %s, want green 00 and blue ff", got.hex())
	}
}
