package clarifai

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/imgpredict/worker/predictor"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/imgpredict/worker/predictor/clarifai/clarifaipb"
	sc "github.com/imgpredict/worker/predictor/clarifai/clarifaipb/statuspb"
	"github.com/imgpredict/worker/predictor/clarifai/clarifaitest"
)

func benchRequest() (*predictor.Request, []int) {
	req := &predictor.Request{
		Model:        predictor.Model{UserID: "clarifai", AppID: "main", ID: "general-image-recognition"},
		OutputConfig: predictor.OutputConfig{MaxConcepts: 5},
		Inputs:       make([]predictor.Input, predictor.MaxInputsPerCall),
	}
	idx := make([]int, predictor.MaxInputsPerCall)
	for i := range req.Inputs {
		req.Inputs[i] = predictor.Input{ID: fmt.Sprintf("evt-%03d", i), URL: fmt.Sprintf("https://img.example/%d.jpg", i)}
		idx[i] = i
	}
	return req, idx
}

// conceptsPayload is a classifier's answer: 5 concepts.
func conceptsPayload() *pb.Data {
	d := &pb.Data{}
	for i := range 5 {
		d.Concepts = append(d.Concepts, &pb.Concept{Id: fmt.Sprintf("ai_%d", i), Name: fmt.Sprintf("concept %d", i), Value: 0.9})
	}
	return d
}

// richPayload has every kind of field the client maps: 5 concepts, a
// 512-float embedding, 3 colours, a polygon region and a keypoint region.
func richPayload() *pb.Data {
	d := conceptsPayload()
	d.Embeddings = clarifaitest.Embeddings(1, 512).GetEmbeddings()
	d.Colors = clarifaitest.Colors(3).GetColors()
	d.Regions = append(clarifaitest.Polygons(1, 8).GetRegions(), clarifaitest.Keypoints(1, 17).GetRegions()...)
	return d
}

// benchResponse answers the first n inputs of req with payload, in
// shuffled order when shuffle is set.
func benchResponse(req *predictor.Request, n int, payload *pb.Data, shuffle bool) *pb.MultiOutputResponse {
	model := &pb.Model{Id: req.Model.ID, UserId: "clarifai", AppId: "main", ModelVersion: &pb.ModelVersion{Id: "v1"}}
	resp := &pb.MultiOutputResponse{Status: &sc.Status{Code: sc.StatusCode_SUCCESS, ReqId: "bench"}}
	for k, in := range req.Inputs[:n] {
		resp.Outputs = append(resp.Outputs, &pb.Output{
			Id:        fmt.Sprintf("out-%d", k),
			CreatedAt: timestamppb.Now(),
			Status:    &sc.Status{Code: sc.StatusCode_SUCCESS},
			Model:     model,
			Input:     &pb.Input{Id: in.ID},
			Data:      payload,
		})
	}
	if shuffle {
		rand.Shuffle(len(resp.Outputs), func(i, j int) { resp.Outputs[i], resp.Outputs[j] = resp.Outputs[j], resp.Outputs[i] })
	}
	return resp
}

func BenchmarkBuildRequest128(b *testing.B) {
	req, idx := benchRequest()
	b.ReportAllocs()
	for b.Loop() {
		_ = buildRequest(req, idx)
	}
}

func BenchmarkMapResponse128(b *testing.B) {
	for _, tc := range []struct {
		name    string
		payload *pb.Data
		shuffle bool
	}{
		{"shuffled=false", conceptsPayload(), false},
		{"shuffled=true", conceptsPayload(), true},
		{"rich", richPayload(), false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			req, idx := benchRequest()
			resp := benchResponse(req, len(idx), tc.payload, tc.shuffle)
			res := make([]result, len(idx))
			b.ReportAllocs()
			for b.Loop() {
				if whole := mapResponse(resp, req, idx, res); whole != nil {
					b.Fatal(whole)
				}
			}
			if res[0].pred == nil || len(res[0].pred.Concepts) != 5 {
				b.Fatal("outputs not mapped")
			}
		})
	}
}

// TestMapResponseAllocationsDoNotGrowWithTheBatch: a response of 128 rich
// outputs costs a handful of allocations, as many as one of 64. (Below 64
// the compiler may keep the smallest slab on the stack: one fewer.)
func TestMapResponseAllocationsDoNotGrowWithTheBatch(t *testing.T) {
	req, idx := benchRequest()
	allocs := func(n int) float64 {
		resp := benchResponse(req, n, richPayload(), false)
		res := make([]result, n)
		return testing.AllocsPerRun(20, func() { _ = mapResponse(resp, req, idx[:n], res) })
	}
	half, all := allocs(len(idx)/2), allocs(len(idx))
	if all > half || all > 10 {
		t.Fatalf("mapping 128 outputs took %v allocations, 64 outputs %v", all, half)
	}
}
