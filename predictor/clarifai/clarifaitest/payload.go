package clarifaitest

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"

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

func concepts(names []string, top float32) []*pb.Concept {
	out := make([]*pb.Concept, len(names))
	for i, name := range names {
		out[i] = &pb.Concept{Id: "id-" + name, Name: name, Value: top - float32(i)*0.01, AppId: "main", UserId: "clarifai"}
	}
	return out
}
