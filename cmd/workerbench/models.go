package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/imgpredict/worker/internal/ctxtime"
	"github.com/imgpredict/worker/predictor/clarifai/clarifaitest"
)

// askedModels are what one event in three asks in the several-models run:
// the default model and two others, each a call group of its own.
var askedModels = []string{benchModel.ID, "general-image-detection", "color-recognition"}

// modelsField is the event's "models" member asking askedModels.
var modelsField = func() string {
	specs := make([]string, len(askedModels))
	for i, m := range askedModels {
		specs[i] = `{"id":"` + m + `"}`
	}
	return `,"models":[` + strings.Join(specs, ",") + `]}`
}()

// modelsEvent is event i of the several-models backlog: every third asks
// askedModels, the others the default model.
func modelsEvent(i int) []byte {
	ev := event("models-"+strconv.Itoa(i), "")
	if i%3 != 0 {
		return ev
	}
	return append(ev[:len(ev)-1], modelsField...)
}

// severalModels are the figures of issue 16.5: calls and images/s under
// a backlog where one event in three asks three models.
type severalModels struct {
	// ImagesPerS is the inputs the fake received per second, from its
	// first call to its last, against the quota ceiling.
	ImagesPerS    float64      `json:"images_per_s"`
	Ratio         float64      `json:"ratio_to_quota"`
	Models        []modelShare `json:"by_model"`
	InputsPerCall float64      `json:"mean_inputs_per_call"`
	Calls         int          `json:"calls"`
	PartialCalls  int          `json:"partial_calls"`
}

type modelShare struct {
	Model      string  `json:"model"`
	ImagesPerS float64 `json:"images_per_s"`
	Calls      int     `json:"calls"`
}

// severalModels runs the worker on a backlog of modelsEvent events for
// window after its first result, against f.
func (b *bench) severalModels(ctx context.Context, f *fake, backlog int, window time.Duration) (severalModels, error) {
	if err := b.fresh(ctx); err != nil {
		return severalModels{}, err
	}
	if err := b.publishEvents(ctx, backlog, modelsEvent); err != nil {
		return severalModels{}, err
	}
	w, err := b.startWorker(ctx, f.client, workerConfig())
	if err != nil {
		return severalModels{}, err
	}
	_, _, err = b.waitStored(ctx, 0, 10*time.Millisecond, 30*time.Second)
	if err == nil {
		err = ctxtime.Sleep(ctx, window)
	}
	if err := errors.Join(err, w.stop()); err != nil {
		return severalModels{}, err
	}
	m, err := modelRates(f.srv.Requests())
	m.InputsPerCall, m.Calls, m.PartialCalls = f.inputsPerCall()
	return m, err
}

// modelRates are the inputs per second the fake received, in all and by
// model, over the calls from the first to the one before the last,
// divided by the time between the first and the last: the calls' own
// pace, without the start-up before the first or the stop after the last.
func modelRates(reqs []clarifaitest.Request) (severalModels, error) {
	var m severalModels
	if len(reqs) < 2 {
		return m, fmt.Errorf("%d calls: too few to time", len(reqs))
	}
	span := reqs[len(reqs)-1].Time.Sub(reqs[0].Time).Seconds()
	for _, id := range askedModels {
		s := modelShare{Model: id}
		for i, r := range reqs {
			if r.ModelID != id {
				continue
			}
			s.Calls++
			if i < len(reqs)-1 {
				s.ImagesPerS += float64(len(r.InputIDs))
			}
		}
		s.ImagesPerS /= span
		m.ImagesPerS += s.ImagesPerS
		m.Models = append(m.Models, s)
	}
	return m, nil
}
