package clarifaitest

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"

	pb "github.com/imgpredict/worker/predictor/clarifai/clarifaipb"
)

// Concepts is a classifier's answer: the named concepts with falling scores.
func Concepts(names ...string) *pb.Data {
	return &pb.Data{Concepts: concepts(names, 0.99)}
}

// Boxes is a detector's answer: n regions, each with a bounding box and one
// concept.
func Boxes(n int) *pb.Data {
	d := &pb.Data{}
	for i := range n {
		f := float32(i%10) / 10
		d.Regions = append(d.Regions, &pb.Region{
			Id:    fmt.Sprintf("box-%d", i),
			Value: 0.9,
			RegionInfo: &pb.RegionInfo{BoundingBox: &pb.BoundingBox{
				TopRow: f, LeftCol: f / 2, BottomRow: f + 0.1, RightCol: f/2 + 0.3,
			}},
			Data: &pb.Data{Concepts: concepts([]string{fmt.Sprintf("object-%d", i)}, 0.9)},
		})
	}
	return d
}

// Masks is a segmenter's answer: n regions, each with a size x size
// greyscale PNG mask (a white square on black) and one concept.
func Masks(n, size int) *pb.Data {
	img := image.NewGray(image.Rect(0, 0, size, size))
	for y := size / 4; y < size*3/4; y++ {
		for x := size / 4; x < size*3/4; x++ {
			img.SetGray(x, y, color.Gray{Y: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(fmt.Sprintf("clarifaitest: encode mask: %v", err))
	}
	d := &pb.Data{}
	for i := range n {
		d.Regions = append(d.Regions, &pb.Region{
			Id:         fmt.Sprintf("mask-%d", i),
			Value:      0.8,
			RegionInfo: &pb.RegionInfo{Mask: &pb.Mask{Image: &pb.Image{Base64: buf.Bytes()}}},
			Data:       &pb.Data{Concepts: concepts([]string{fmt.Sprintf("segment-%d", i)}, 0.8)},
		})
	}
	return d
}

// Embeddings is an embedder's answer: n vectors of dims values each,
// vector e holding e + i/dims at position i.
func Embeddings(n, dims int) *pb.Data {
	d := &pb.Data{}
	for e := range n {
		v := make([]float32, dims)
		for i := range v {
			v[i] = float32(e) + float32(i)/float32(dims)
		}
		d.Embeddings = append(d.Embeddings, &pb.Embedding{Vector: v, NumDimensions: uint32(dims)})
	}
	return d
}

// palette is what Colors picks from, in order.
var palette = []struct{ raw, hex, name string }{
	{"#f0ead6", "#faebd7", "AntiqueWhite"},
	{"#1a2b3c", "#2f4f4f", "DarkSlateGray"},
	{"#c0392b", "#b22222", "FireBrick"},
	{"#27ae60", "#2e8b57", "SeaGreen"},
	{"#2980b9", "#4682b4", "SteelBlue"},
}

// Colors is a colour model's answer: the first n colours of a fixed
// palette (at most 5), with shares that fall and add up to at most 1.
func Colors(n int) *pb.Data {
	d := &pb.Data{}
	for i, c := range palette[:min(n, len(palette))] {
		d.Colors = append(d.Colors, &pb.Color{
			RawHex: c.raw, W3C: &pb.W3C{Hex: c.hex, Name: c.name}, Value: 0.5 / float32(i+1),
		})
	}
	return d
}

// Polygons is a segmenter's answer in outline: n regions, each with a
// polygon of vertices points, track id "track-<i>" and one concept.
func Polygons(n, vertices int) *pb.Data {
	d := &pb.Data{}
	for i := range n {
		poly := &pb.Polygon{}
		for v := range vertices {
			a := 2 * math.Pi * float64(v) / float64(vertices)
			poly.Points = append(poly.Points, &pb.Point{
				Row: float32(0.5 + 0.4*math.Sin(a)), Col: float32(0.5 + 0.4*math.Cos(a)),
			})
		}
		d.Regions = append(d.Regions, &pb.Region{
			Id:         fmt.Sprintf("polygon-%d", i),
			Value:      0.85,
			TrackId:    fmt.Sprintf("track-%d", i),
			RegionInfo: &pb.RegionInfo{Polygon: poly},
			Data:       &pb.Data{Concepts: concepts([]string{fmt.Sprintf("shape-%d", i)}, 0.85)},
		})
	}
	return d
}

// Keypoints is a pose model's answer: n regions, each with a bounding box,
// a point (its centre, depth z = 0.5) and k keypoints whose visibility
// cycles through VISIBLE, NOT_VISIBLE, NOT_PRESENT and NOT_SET, track id
// "track-<i>" and one concept.
func Keypoints(n, k int) *pb.Data {
	vis := []pb.Point_Visibility{pb.Point_VISIBLE, pb.Point_NOT_VISIBLE, pb.Point_NOT_PRESENT, pb.Point_NOT_SET}
	d := &pb.Data{}
	for i := range n {
		ri := &pb.RegionInfo{
			BoundingBox: &pb.BoundingBox{TopRow: 0.1, LeftCol: 0.2, BottomRow: 0.9, RightCol: 0.8},
			Point:       &pb.Point{Row: 0.5, Col: 0.5, Z: 0.5, Visibility: pb.Point_VISIBLE},
		}
		for j := range k {
			row, col := float32(j+1)/float32(k+1), float32(k-j)/float32(k+1)
			ri.KeypointLocations = append(ri.KeypointLocations, &pb.Point{Row: row, Col: col, Visibility: vis[j%len(vis)]})
		}
		d.Regions = append(d.Regions, &pb.Region{
			Id:         fmt.Sprintf("pose-%d", i),
			Value:      0.95,
			TrackId:    fmt.Sprintf("track-%d", i),
			RegionInfo: ri,
			Data:       &pb.Data{Concepts: concepts([]string{"person"}, 0.95)},
		})
	}
	return d
}

func concepts(names []string, top float32) []*pb.Concept {
	out := make([]*pb.Concept, len(names))
	for i, name := range names {
		out[i] = &pb.Concept{Id: "id-" + name, Name: name, Value: top - float32(i)*0.01, AppId: "main", UserId: "clarifai"}
	}
	return out
}
