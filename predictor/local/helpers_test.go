package local_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/predictor/local"
)

var (
	red   = color.RGBA{255, 0, 0, 255}
	blue  = color.RGBA{0, 0, 255, 255}
	green = color.RGBA{0, 128, 0, 255}
	white = color.RGBA{255, 255, 255, 255}
	black = color.RGBA{0, 0, 0, 255}
)

// newPredictor returns a predictor whose fetcher may reach the tests'
// loopback servers.
func newPredictor(t testing.TB, cfg local.Config) *local.Predictor {
	t.Helper()
	cfg.Fetch.AllowPrivate = true
	p, err := local.New(cfg, zerolog.Nop())
	require.NoError(t, err)
	return p
}

func canvas(w, h int, bg color.Color) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
	return img
}

func fillRect(img *image.RGBA, r image.Rectangle, c color.Color) {
	draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
}

func encode(t testing.TB, img image.Image, format string) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&buf, img)
	case "jpeg":
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95})
	case "gif":
		err = gif.Encode(&buf, img, nil)
	default:
		t.Fatalf("unknown format %q", format)
	}
	require.NoError(t, err)
	return buf.Bytes()
}

// predictBytes runs one input and requires a prediction.
func predictBytes(t testing.TB, p *local.Predictor, data []byte, oc predictor.OutputConfig) *predictor.Prediction {
	t.Helper()
	out := p.Predict(context.Background(), predictor.Request{
		OutputConfig: oc,
		Inputs:       []predictor.Input{{ID: "in", Bytes: data}},
	})
	require.Len(t, out, 1)
	require.NoError(t, out[0].Err)
	require.NotNil(t, out[0].Prediction)
	return out[0].Prediction
}

// predictErr runs one input and requires a classified failure.
func predictErr(t testing.TB, p *local.Predictor, in predictor.Input) *predictor.Error {
	t.Helper()
	out := p.Predict(context.Background(), predictor.Request{Inputs: []predictor.Input{in}})
	require.Len(t, out, 1)
	require.Nil(t, out[0].Prediction)
	pe, ok := errors.AsType[*predictor.Error](out[0].Err)
	require.True(t, ok, "want *predictor.Error, got %v", out[0].Err)
	return pe
}

// requireFetchErr checks that err is a permanent input error with reason.
func requireFetchErr(t *testing.T, err error, reason string) *predictor.Error {
	t.Helper()
	pe, ok := errors.AsType[*predictor.Error](err)
	require.True(t, ok, "want *predictor.Error, got %v", err)
	require.Equal(t, reason, pe.Reason, "%v", pe)
	require.Equal(t, predictor.PermanentInput, pe.Class)
	return pe
}

// colorShares maps colour names to their share, and checks they add up to 1.
func colorShares(t testing.TB, pred *predictor.Prediction) map[string]float32 {
	t.Helper()
	shares := map[string]float32{}
	var sum float32
	for _, c := range pred.Concepts {
		if name, ok := strings.CutPrefix(c.ID, "color-"); ok {
			require.Equal(t, name, c.Name)
			shares[name] = c.Value
			sum += c.Value
		}
	}
	require.InDelta(t, 1, sum, 1e-4, "colour shares %v", shares)
	return shares
}

func region(t testing.TB, pred *predictor.Prediction, name string) predictor.Region {
	t.Helper()
	for _, r := range pred.Regions {
		if len(r.Concepts) == 1 && r.Concepts[0].Name == name {
			return r
		}
	}
	t.Fatalf("no region for %q in %+v", name, pred.Regions)
	return predictor.Region{}
}
