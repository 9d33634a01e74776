package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/imgpredict/worker/imageprep"
	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/schemas"
)

// Model is the model that every prediction of this package reports.
func Model() predictor.Model {
	return predictor.Model{UserID: "local", AppID: "local", ID: "local-color", VersionID: "1"}
}

// Predictor is the offline local-color model. It is safe for concurrent use.
type Predictor struct {
	cfg   Config
	fetch *imageprep.Fetcher
	sem   chan struct{} // bounds decoding and analysis across calls
	log   zerolog.Logger
}

// New returns a Predictor; cfg's zero fields take their defaults.
func New(cfg Config, log zerolog.Logger) (*Predictor, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log = log.With().Str("component", "local-predictor").Logger()
	f, err := imageprep.NewFetcher(cfg.Fetch, log)
	if err != nil {
		return nil, err
	}
	return &Predictor{cfg: cfg, fetch: f, sem: make(chan struct{}, cfg.Workers), log: log}, nil
}

// Ready returns at once: there is no quota to wait for.
func (p *Predictor) Ready(ctx context.Context) error { return ctx.Err() }

// Predict analyses the inputs concurrently, at most Workers at a time.
// The requested model is ignored: local-color always runs, and each
// prediction says so.
func (p *Predictor) Predict(ctx context.Context, req predictor.Request) []predictor.Outcome {
	reqID := newReqID()
	out := make([]predictor.Outcome, len(req.Inputs))
	var g errgroup.Group
	g.SetLimit(p.cfg.Workers)
	for i, in := range req.Inputs {
		g.Go(func() error {
			out[i] = p.predictOne(ctx, reqID, in, req.OutputConfig)
			return nil
		})
	}
	_ = g.Wait() // the goroutines never fail: errors are outcomes
	return out
}

func (p *Predictor) predictOne(ctx context.Context, reqID string, in predictor.Input, oc predictor.OutputConfig) predictor.Outcome {
	o := predictor.Outcome{InputID: in.ID}
	pred, err := p.run(ctx, in)
	if err != nil {
		if pe, ok := errors.AsType[*predictor.Error](err); ok {
			pe.ReqID = reqID
		}
		o.Err = err
		return o
	}
	pred.Status.ReqID = reqID
	applyOutputConfig(pred, oc)
	o.Prediction = pred
	return o
}

func (p *Predictor) run(ctx context.Context, in predictor.Input) (*predictor.Prediction, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data := in.Bytes
	switch {
	case in.URL != "" && len(in.Bytes) > 0:
		return nil, inputError(codeInvalidArgument, schemas.ReasonInvalidInput, "both URL and bytes set", nil)
	case in.URL != "":
		var err error
		if data, err = p.fetch.Fetch(ctx, in.URL); err != nil {
			return nil, fetchError(err)
		}
	case len(in.Bytes) == 0:
		return nil, inputError(codeInvalidArgument, schemas.ReasonInvalidInput, "neither URL nor bytes set", nil)
	}

	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-p.sem }()

	start := time.Now()
	img, format, err := p.decode(data)
	if err != nil {
		return nil, err
	}
	a, err := p.analyse(ctx, img)
	if err != nil {
		return nil, err
	}
	pred, err := a.prediction()
	if err != nil {
		return nil, err
	}
	p.log.Debug().Str("input_id", in.ID).Str("format", format).
		Int("width", a.width).Int("height", a.height).Int("colors", len(a.clusters)).
		Dur("took", time.Since(start)).Msg("analysed image")
	return pred, nil
}

func newReqID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return "local-" + hex.EncodeToString(b[:])
}
