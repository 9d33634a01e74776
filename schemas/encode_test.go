package schemas

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// stdJSON is what encoding/json writes for r, with MarshalJSON's defaults.
func stdJSON(t *testing.T, r Result) []byte {
	type plain Result
	if r.Concepts == nil {
		r.Concepts = []Concept{}
	}
	if r.Regions == nil {
		r.Regions = []Region{}
	}
	if r.SchemaVersion == 0 {
		r.SchemaVersion = Version
	}
	r.Embeddings = slices.Clone(r.Embeddings)
	for i := range r.Embeddings {
		if r.Embeddings[i].Vector == nil {
			r.Embeddings[i].Vector = []float32{}
		}
	}
	b, err := json.Marshal(plain(r))
	require.NoError(t, err)
	return b
}

func decodeAny(t *testing.T, b []byte) any {
	var v any
	require.NoError(t, json.Unmarshal(b, &v), "%s", b)
	return v
}

func TestAppendResultMatchesEncodingJSON(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 11))
	odd := []string{"", "plain", "quote\" back\\slash", "ctl\x00\x01\n\r\t\x1f", "<html>&", "ünïcode ✓ 日本", "bad\xffutf8\xc3", "\u2028\u2029"}
	floats := []float32{0, 1, 0.5, 0.9996059536933899, 1e-7, 3.4e38, -2.5, 1e21, 123456.78, float32(math.SmallestNonzeroFloat32)}
	pick := func(xs []string) string { return xs[rnd.IntN(len(xs))] }
	pickF := func() float32 {
		if rnd.IntN(2) == 0 {
			return floats[rnd.IntN(len(floats))]
		}
		return rnd.Float32()
	}
	points := func() []Point {
		var ps []Point
		for range rnd.IntN(3) {
			ps = append(ps, Point{Row: pickF(), Col: pickF(), Z: pickF(), Visibility: pick(odd)})
		}
		return ps
	}
	for i := range 300 {
		r := Result{
			SchemaVersion: rnd.IntN(2),
			EventID:       pick(odd),
			Model:         Model{ID: pick(odd), VersionID: pick(odd), UserID: pick(odd), AppID: pick(odd)},
			Status:        Status{Code: rnd.Uint32(), Description: pick(odd), ReqID: pick(odd)},
			Source:        Source{Stream: pick(odd), Sequence: rnd.Uint64(), Subject: pick(odd), Deliveries: rnd.Uint64N(20)},
			PredictedAt:   time.Unix(rnd.Int64N(2e9), rnd.Int64N(1e9)).UTC(),
		}
		if i%3 == 0 {
			r.Metadata = json.RawMessage(`{"k":[1,"two",{"3":null}]}`)
		}
		switch rnd.IntN(3) {
		case 0:
			r.Output = &OutputInfo{ID: pick(odd)}
		case 1:
			r.Output = &OutputInfo{ID: pick(odd), CreatedAt: time.Unix(rnd.Int64N(2e9), rnd.Int64N(1e9)).UTC()}
		}
		for range rnd.IntN(3) {
			e := Embedding{NumDimensions: rnd.Uint32()}
			for range rnd.IntN(5) {
				e.Vector = append(e.Vector, pickF())
			}
			r.Embeddings = append(r.Embeddings, e)
		}
		for range rnd.IntN(3) {
			c := Color{RawHex: pick(odd), Value: pickF()}
			if rnd.IntN(2) == 0 {
				c.W3C = &W3CColor{Hex: pick(odd), Name: pick(odd)}
			}
			r.Colors = append(r.Colors, c)
		}
		if rnd.IntN(2) == 0 {
			r.Image = &ImageInfo{Width: rnd.IntN(5000), Height: rnd.IntN(5000), Orientation: rnd.IntN(9)}
			if rnd.IntN(2) == 0 {
				r.Image.Original = &Size{Width: rnd.IntN(9000), Height: rnd.IntN(9000)}
			}
		}
		r.Cached = rnd.IntN(2) == 0
		for range rnd.IntN(4) {
			r.Concepts = append(r.Concepts, Concept{ID: pick(odd), Name: pick(odd), Value: pickF()})
		}
		for range rnd.IntN(3) {
			rg := Region{ID: pick(odd), Value: pickF()}
			if rnd.IntN(2) == 0 {
				rg.BoundingBox = &BoundingBox{TopRow: pickF(), LeftCol: pickF(), BottomRow: pickF(), RightCol: pickF()}
			}
			switch rnd.IntN(4) {
			case 0:
				rg.Mask = &Mask{PNG: []byte{0x89, 'P', 'N', 'G', byte(rnd.IntN(256))}}
			case 1:
				rg.Mask = &Mask{Object: &ObjectRef{Bucket: "masks", Name: pick(odd)}}
			case 2:
				rg.Mask = &Mask{}
			}
			for range rnd.IntN(2) {
				rg.Concepts = append(rg.Concepts, Concept{ID: pick(odd), Value: pickF()})
			}
			rg.Polygon, rg.Keypoints = points(), points()
			if rnd.IntN(2) == 0 {
				rg.Point = &Point{Row: pickF(), Col: pickF()}
			}
			rg.TrackID = pick(odd)
			r.Regions = append(r.Regions, rg)
		}
		got, err := r.MarshalJSON()
		require.NoError(t, err)
		require.True(t, json.Valid(got), "%s", got)
		require.Equal(t, decodeAny(t, stdJSON(t, r)), decodeAny(t, got), "result %d", i)
	}
}

func BenchmarkEncodeResultStd(b *testing.B) {
	r := benchResult()
	type plain Result
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(plain(r)); err != nil {
			b.Fatal(err)
		}
	}
}
