package clarifai

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/imgpredict/worker/predictor"

	pb "github.com/imgpredict/worker/predictor/clarifai/clarifaipb"
	sc "github.com/imgpredict/worker/predictor/clarifai/clarifaipb/statuspb"
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

// benchResponse answers req with 5 concepts per input, in shuffled order
// when shuffle is set.
func benchResponse(req *predictor.Request, shuffle bool) *pb.MultiOutputResponse {
	model := &pb.Model{Id: req.Model.ID, UserId: "clarifai", AppId: "main", ModelVersion: &pb.ModelVersion{Id: "v1"}}
	var concepts []*pb.Concept
	for i := range 5 {
		concepts = append(concepts, &pb.Concept{Id: fmt.Sprintf("ai_%d", i), Name: fmt.Sprintf("concept %d", i), Value: 0.9})
	}
	resp := &pb.MultiOutputResponse{Status: &sc.Status{Code: sc.StatusCode_SUCCESS, ReqId: "bench"}}
	for _, in := range req.Inputs {
		resp.Outputs = append(resp.Outputs, &pb.Output{
			Status: &sc.Status{Code: sc.StatusCode_SUCCESS},
			Model:  model,
			Input:  &pb.Input{Id: in.ID},
			Data:   &pb.Data{Concepts: concepts},
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
	for _, shuffle := range []bool{false, true} {
		b.Run(fmt.Sprintf("shuffled=%t", shuffle), func(b *testing.B) {
			req, idx := benchRequest()
			resp := benchResponse(req, shuffle)
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
