package main

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/predictor/clarifai"
	"github.com/imgpredict/worker/predictor/clarifai/clarifaitest"
)

// instant answers every input at once, in process: the worker's cost
// without any prediction work or network.
type instant struct{}

func (instant) Ready(ctx context.Context) error { return ctx.Err() }

func (instant) Predict(_ context.Context, req predictor.Request) []predictor.Outcome {
	outs := make([]predictor.Outcome, len(req.Inputs))
	for i, in := range req.Inputs {
		outs[i] = predictor.Outcome{InputID: in.ID, Prediction: prediction(req.Model)}
	}
	return outs
}

// prediction is what clarifaitest answers by default: three concepts.
func prediction(m predictor.Model) *predictor.Prediction {
	return &predictor.Prediction{
		Model:  m,
		Status: predictor.Status{Code: 10000, Description: "Ok", ReqID: "bench"},
		Concepts: []predictor.Concept{
			{ID: "ai_cat", Name: "cat", Value: 0.97},
			{ID: "ai_dog", Name: "dog", Value: 0.42},
			{ID: "ai_tree", Name: "tree", Value: 0.11},
		},
	}
}

// fake is the fake Clarifai server with a real gRPC client in front of it.
type fake struct {
	srv    *clarifaitest.Server
	client *clarifai.Client
}

// newFake serves calls that take latency, through a client limited to
// rate calls/s (burst 1, as the worker runs).
func newFake(latency time.Duration, rate float64, log zerolog.Logger) (*fake, error) {
	srv := clarifaitest.NewServer()
	srv.SetLatency(latency)
	client, err := clarifai.NewClient(clarifai.ClientConfig{
		Endpoint:  srv.Addr(),
		Insecure:  true,
		PAT:       "workerbench",
		RateLimit: rate,
	}, log)
	if err != nil {
		srv.Close()
		return nil, fmt.Errorf("predictor client: %w", err)
	}
	return &fake{srv: srv, client: client}, nil
}

// serveFake starts the fake Clarifai, answering at once, for a worker in
// another process.
func serveFake() (addr string, stop func()) {
	srv := clarifaitest.NewServer()
	return srv.Addr(), srv.Close
}

func (f *fake) close() {
	_ = f.client.Close()
	f.srv.Close()
}

// inputsPerCall is the mean inputs per recorded call and how many calls
// were not full.
func (f *fake) inputsPerCall() (mean float64, calls, partial int) {
	total := 0
	reqs := f.srv.Requests()
	for _, r := range reqs {
		total += len(r.InputIDs)
		if len(r.InputIDs) < predictor.MaxInputsPerCall {
			partial++
		}
	}
	if len(reqs) == 0 {
		return 0, 0, 0
	}
	return float64(total) / float64(len(reqs)), len(reqs), partial
}
