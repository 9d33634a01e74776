package local_test

import (
	"image"
	"image/color"
	"image/draw"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/predictor/local"
)

func TestDominantColours(t *testing.T) {
	tests := []struct {
		name string
		img  image.Image
		want map[string]float32 // colour name: share
	}{
		{"green circle on white", circle(200, 200, 60, white, green), map[string]float32{"white": 0.717, "green": 0.283}},
		{"stripes", stripes(240, 120, red, white, blue, black), map[string]float32{"red": 0.25, "white": 0.25, "blue": 0.25, "black": 0.25}},
		{"solid yellow", canvas(50, 80, color.RGBA{255, 255, 0, 255}), map[string]float32{"yellow": 1}},
		{"tiny 1x1", canvas(1, 1, red), map[string]float32{"red": 1}},
		{"transparent over white", image.NewNRGBA(image.Rect(0, 0, 10, 10)), map[string]float32{"white": 1}},
		{"grey", image.NewGray(image.Rect(0, 0, 30, 30)), map[string]float32{"black": 1}},
	}
	p := newPredictor(t, local.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shares := colorShares(t, predictBytes(t, p, encode(t, tt.img, "png"), predictor.OutputConfig{}))
			require.Len(t, shares, len(tt.want), "got %v", shares)
			for name, share := range tt.want {
				require.InDelta(t, share, shares[name], 0.01, "%s in %v", name, shares)
			}
		})
	}
}

func TestSmallClustersDropped(t *testing.T) {
	img := canvas(100, 100, blue)
	fillRect(img, image.Rect(0, 0, 10, 10), red) // 1% of the image
	p := newPredictor(t, local.Config{})
	shares := colorShares(t, predictBytes(t, p, encode(t, img, "png"), predictor.OutputConfig{}))
	require.Equal(t, map[string]float32{"blue": 1}, shares)

	p = newPredictor(t, local.Config{MinShare: 0.005})
	shares = colorShares(t, predictBytes(t, p, encode(t, img, "png"), predictor.OutputConfig{}))
	require.InDelta(t, 0.01, shares["red"], 1e-6)
}

func TestColorsBoundsClusters(t *testing.T) {
	img := stripes(300, 100, red, white, blue, black, green, color.RGBA{255, 255, 0, 255})
	p := newPredictor(t, local.Config{Colors: 3})
	shares := colorShares(t, predictBytes(t, p, encode(t, img, "png"), predictor.OutputConfig{}))
	require.LessOrEqual(t, len(shares), 3)
}

func TestGlobalTags(t *testing.T) {
	tests := []struct {
		name string
		img  image.Image
		want map[string]float32 // tag: value; other tags must be absent
	}{
		{"white landscape", canvas(300, 100, white), map[string]float32{"bright": 1, "landscape": 1, "monochrome": 1}},
		{"black portrait", canvas(100, 300, black), map[string]float32{"dark": 1, "portrait": 1, "monochrome": 1}},
		{"red on blue square", redOnBlue(100, 100), map[string]float32{"square": 1, "colorful": 1}},
		{"almost square", canvas(104, 100, green), map[string]float32{"square": 1, "colorful": 1}},
	}
	tags := []string{"bright", "dark", "landscape", "portrait", "square", "colorful", "monochrome"}
	p := newPredictor(t, local.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pred := predictBytes(t, p, encode(t, tt.img, "png"), predictor.OutputConfig{})
			got := map[string]float32{}
			for _, c := range pred.Concepts {
				for _, tag := range tags {
					if c.ID == tag {
						got[tag] = c.Value
					}
				}
			}
			require.Len(t, got, len(tt.want), "got %v", got)
			for tag, v := range tt.want {
				require.InDelta(t, v, got[tag], 0.02, "%s in %v", tag, got)
			}
		})
	}
}

func TestConceptsSortedByValue(t *testing.T) {
	p := newPredictor(t, local.Config{})
	pred := predictBytes(t, p, encode(t, circle(200, 120, 40, white, green), "png"), predictor.OutputConfig{})
	for i := 1; i < len(pred.Concepts); i++ {
		require.GreaterOrEqual(t, pred.Concepts[i-1].Value, pred.Concepts[i].Value, "%+v", pred.Concepts)
	}
}

func TestPredictionIsDeterministic(t *testing.T) {
	img := gradient(320, 240)
	data := encode(t, img, "jpeg")
	first := predictBytes(t, newPredictor(t, local.Config{}), data, predictor.OutputConfig{})
	second := predictBytes(t, newPredictor(t, local.Config{}), data, predictor.OutputConfig{})
	first.Status.ReqID, second.Status.ReqID = "", ""
	require.Equal(t, first, second)
	require.GreaterOrEqual(t, len(colorShares(t, first)), 3, "a gradient has several colours")
}

func redOnBlue(w, h int) *image.RGBA {
	img := canvas(w, h, blue)
	fillRect(img, image.Rect(w/4, h/4, w*3/4, h*3/4), red)
	return img
}

func circle(w, h, r int, bg, fg color.Color) *image.RGBA {
	img := canvas(w, h, bg)
	cx, cy := w/2, h/2
	for y := range h {
		for x := range w {
			if (x-cx)*(x-cx)+(y-cy)*(y-cy) < r*r {
				img.Set(x, y, fg)
			}
		}
	}
	return img
}

// stripes draws equal vertical stripes, one per colour.
func stripes(w, h int, colors ...color.Color) *image.RGBA {
	img := canvas(w, h, white)
	for i, c := range colors {
		fillRect(img, image.Rect(i*w/len(colors), 0, (i+1)*w/len(colors), h), c)
	}
	return img
}

// gradient runs from sky blue at the top to navy at the bottom.
func gradient(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		f := float64(y) / float64(h-1)
		c := color.RGBA{uint8(135 * (1 - f)), uint8(206*(1-f) + 20*f), uint8(235*(1-f) + 128*f), 255}
		draw.Draw(img, image.Rect(0, y, w, y+1), image.NewUniform(c), image.Point{}, draw.Src)
	}
	return img
}
