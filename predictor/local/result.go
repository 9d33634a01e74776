package local

import (
	"bytes"
	"cmp"
	"fmt"
	"image/png"
	"slices"
	"sync"

	"github.com/imgpredict/worker/predictor"
)

// Thresholds of the global tags.
const (
	brightL       = 60   // mean L* at or above: bright
	darkL         = 35   // mean L* at or below: dark
	squareSlack   = 1.05 // aspect ratios within this factor of 1: square
	monoGreyFrac  = 0.95 // share of grey samples at or above: monochrome
	colorfulVivid = 0.4  // share of vivid samples at or above: colorful
)

// prediction turns the analysis into Clarifai's result shape.
func (a *analysis) prediction() (*predictor.Prediction, error) {
	pred := &predictor.Prediction{
		Model:  Model(),
		Status: predictor.Status{Code: codeSuccess, Description: "Ok"},
		Colors: make([]predictor.Color, 0, len(a.clusters)),
	}
	for _, c := range a.clusters {
		concept := predictor.Concept{ID: "color-" + c.name, Name: c.name, Value: float32(c.share)}
		pred.Colors = append(pred.Colors, predictor.Color{
			RawHex: c.mean.hex(), W3CHex: cssHex(c.name), W3CName: c.name, Value: float32(c.share),
		})
		pred.Concepts = append(pred.Concepts, concept)
		mask, err := encodeMask(c)
		if err != nil {
			return nil, fmt.Errorf("encoding mask of %s: %w", c.name, err)
		}
		w, h := float32(a.width), float32(a.height)
		pred.Regions = append(pred.Regions, predictor.Region{
			ID:    "region-" + c.name,
			Value: float32(c.share),
			Box: &predictor.BoundingBox{
				TopRow:    float32(c.minY) / h,
				LeftCol:   float32(c.minX) / w,
				BottomRow: float32(c.maxY+1) / h,
				RightCol:  float32(c.maxX+1) / w,
			},
			Mask:     mask,
			Concepts: []predictor.Concept{concept},
		})
	}
	pred.Concepts = append(pred.Concepts, a.tags()...)
	slices.SortStableFunc(pred.Concepts, func(x, y predictor.Concept) int {
		return cmp.Or(cmp.Compare(y.Value, x.Value), cmp.Compare(x.ID, y.ID))
	})
	return pred, nil
}

// tags are the global concepts: lightness, aspect and colourfulness.
func (a *analysis) tags() []predictor.Concept {
	tag := func(name string, v float64) predictor.Concept {
		return predictor.Concept{ID: name, Name: name, Value: float32(v)}
	}
	var out []predictor.Concept
	switch l := a.meanL / 100; {
	case a.meanL >= brightL:
		out = append(out, tag("bright", l))
	case a.meanL <= darkL:
		out = append(out, tag("dark", 1-l))
	}
	switch r := float64(a.width) / float64(a.height); {
	case r > squareSlack:
		out = append(out, tag("landscape", 1))
	case r < 1/squareSlack:
		out = append(out, tag("portrait", 1))
	default:
		out = append(out, tag("square", 1))
	}
	switch {
	case a.greyFrac >= monoGreyFrac:
		out = append(out, tag("monochrome", a.greyFrac))
	case a.vividFrac >= colorfulVivid:
		out = append(out, tag("colorful", a.vividFrac))
	}
	return out
}

// maskEncoder reuses its compression state across masks.
var maskEncoder = png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &encoderPool{}}

type encoderPool struct{ p sync.Pool }

func (e *encoderPool) Get() *png.EncoderBuffer {
	b, _ := e.p.Get().(*png.EncoderBuffer)
	return b
}

func (e *encoderPool) Put(b *png.EncoderBuffer) { e.p.Put(b) }

func encodeMask(c cluster) ([]byte, error) {
	var buf bytes.Buffer
	if err := maskEncoder.Encode(&buf, c.mask); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
