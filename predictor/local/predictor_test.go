package local_test

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/predictor/local"
)

func TestRedSquareOnBlue(t *testing.T) {
	const w, h = 300, 200
	square := image.Rect(90, 40, 170, 120) // 80x80 px
	img := canvas(w, h, blue)
	fillRect(img, square, red)
	p := newPredictor(t, local.Config{})

	for _, format := range []string{"png", "jpeg", "gif"} {
		t.Run(format, func(t *testing.T) {
			pred := predictBytes(t, p, encode(t, img, format), predictor.OutputConfig{})
			require.Equal(t, local.Model(), pred.Model)
			require.Equal(t, uint32(10000), pred.Status.Code)
			require.NotEmpty(t, pred.Status.ReqID)

			shares := colorShares(t, pred)
			require.Len(t, shares, 2, "shares %v", shares)
			wantRed := float32(square.Dx()*square.Dy()) / (w * h)
			require.InDelta(t, wantRed, shares["red"], 0.01)
			require.InDelta(t, 1-wantRed, shares["blue"], 0.01)

			r := region(t, pred, "red")
			require.InDelta(t, shares["red"], r.Value, 1e-6)
			require.NotNil(t, r.Box)
			require.InDelta(t, square.Min.X, r.Box.LeftCol*w, 1)
			require.InDelta(t, square.Min.Y, r.Box.TopRow*h, 1)
			require.InDelta(t, square.Max.X, r.Box.RightCol*w, 1)
			require.InDelta(t, square.Max.Y, r.Box.BottomRow*h, 1)
			requireMask(t, r.Mask, square, w, h)

			b := region(t, pred, "blue")
			require.Equal(t, predictor.BoundingBox{TopRow: 0, LeftCol: 0, BottomRow: 1, RightCol: 1}, *b.Box)
		})
	}
}

// requireMask checks that a mask is 255 inside rect and 0 outside, except
// within one mask pixel of rect's border. rect is in image pixels.
func requireMask(t *testing.T, data []byte, rect image.Rectangle, w, h int) {
	t.Helper()
	m, err := png.Decode(bytes.NewReader(data))
	require.NoError(t, err)
	mw, mh := m.Bounds().Dx(), m.Bounds().Dy()
	require.LessOrEqual(t, max(mw, mh), 128)
	require.InDelta(t, float64(w)/float64(h), float64(mw)/float64(mh), 0.05, "mask keeps the aspect ratio")
	sx, sy := float64(mw)/float64(w), float64(mh)/float64(h)
	// rect in mask pixels, and its distance from a mask pixel centre
	x0, x1 := float64(rect.Min.X)*sx, float64(rect.Max.X)*sx
	y0, y1 := float64(rect.Min.Y)*sy, float64(rect.Max.Y)*sy
	for my := range mh {
		for mx := range mw {
			cx, cy := float64(mx)+0.5, float64(my)+0.5
			nearEdge := math.Abs(cx-x0) < 1 || math.Abs(cx-x1) < 1 || math.Abs(cy-y0) < 1 || math.Abs(cy-y1) < 1
			if nearEdge {
				continue
			}
			inside := cx > x0 && cx < x1 && cy > y0 && cy < y1
			r, _, _, _ := m.At(mx, my).RGBA()
			if inside {
				require.Equal(t, uint32(0xffff), r, "mask pixel (%d,%d) inside", mx, my)
			} else {
				require.Equal(t, uint32(0), r, "mask pixel (%d,%d) outside", mx, my)
			}
		}
	}
}
