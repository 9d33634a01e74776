package clarifai

import (
	"context"
	"iter"
	"sync"
	"time"

	"github.com/imgpredict/worker/internal/ctxtime"
	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/schemas"

	"github.com/cenkalti/backoff/v4"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	sc "github.com/imgpredict/worker/predictor/clarifai/clarifaipb/statuspb"
)

// Predict splits req into calls of at most MaxBatch inputs and
// MaxCallBytes of images, runs them
// concurrently under the shared quota, retries what may pass later, and
// returns one outcome per input in input order.
func (c *Client) Predict(ctx context.Context, req predictor.Request) []predictor.Outcome {
	res := make([]result, len(req.Inputs))
	valid := make([]int, 0, len(req.Inputs))
	seen := make(map[string]struct{}, len(req.Inputs))
	for i, in := range req.Inputs {
		if err := checkInput(in); err != nil {
			res[i].err = err
			continue
		}
		// Outputs are matched by id: a second input with the same id
		// could never be told apart from the first.
		if _, dup := seen[in.ID]; dup {
			res[i].err = &predictor.Error{Class: predictor.PermanentInput, Reason: schemas.ReasonDuplicateInputID,
				Description: "another input of the request has the same id"}
			continue
		}
		seen[in.ID] = struct{}{}
		valid = append(valid, i)
	}

	var wg sync.WaitGroup
	for chunk := range c.calls(&req, valid) {
		wg.Go(func() { c.run(ctx, &req, chunk, res) })
	}
	wg.Wait()

	out := make([]predictor.Outcome, len(req.Inputs))
	for i, r := range res {
		out[i].InputID = req.Inputs[i].ID
		switch {
		case r.pred != nil:
			out[i].Prediction = r.pred
		case r.err != nil:
			out[i].Err = r.err
		default: // left unjudged because ctx ended
			out[i].Err = context.Cause(ctx)
			if out[i].Err == nil {
				out[i].Err = context.Canceled
			}
		}
	}
	return out
}

// calls splits the inputs at idx, in order, into calls of at most MaxBatch
// inputs and MaxCallBytes of image bytes; an input over the byte budget
// goes alone.
func (c *Client) calls(req *predictor.Request, idx []int) iter.Seq[[]int] {
	return func(yield func([]int) bool) {
		start, bytes := 0, 0
		for k, i := range idx {
			n := len(req.Inputs[i].Bytes) + len(req.Inputs[i].URL)
			if k > start && (k-start == c.cfg.MaxBatch || bytes+n > c.cfg.MaxCallBytes) {
				if !yield(idx[start:k:k]) {
					return
				}
				start, bytes = k, 0
			}
			bytes += n
		}
		if start < len(idx) {
			yield(idx[start:])
		}
	}
}

func checkInput(in predictor.Input) *predictor.Error {
	switch {
	case in.ID == "":
		return &predictor.Error{Class: predictor.PermanentInput, Reason: schemas.ReasonInvalidInput, Description: "input has no id"}
	case (in.URL == "") == (len(in.Bytes) == 0):
		return &predictor.Error{Class: predictor.PermanentInput, Reason: schemas.ReasonInvalidInput,
			Description: "input must have exactly one of URL and bytes"}
	}
	return nil
}

// run is one operation: it calls with the inputs at idx and repeats the call
// for those whose failure may pass, under one backoff, until nothing is left
// to retry, the backoff gives up or ctx ends. It writes res[i] for each i in
// idx; inputs left unjudged by ctx's end are left zero.
func (c *Client) run(ctx context.Context, req *predictor.Request, idx []int, res []result) {
	var side sync.WaitGroup // inputs retried alone, halves of split batches
	defer side.Wait()
	b := backoff.WithContext(c.newBackOff(), ctx)
	pending := idx
	for attempt := 1; ; attempt++ {
		callRes := make([]result, len(pending))
		whole, err := c.call(ctx, req, pending, callRes)
		if err != nil {
			forget(res, pending)
			return
		}

		var retry []int
		cause := ""
		if whole != nil {
			if whole.Reason == schemas.ReasonMessageTooLarge && len(pending) > 1 {
				// Permanent for this batch size only: try halves.
				h := len(pending) / 2
				c.log.Info().Int("batch", len(pending)).Msg("clarifai message too large, splitting the batch")
				side.Go(func() { c.run(ctx, req, pending[:h], res) })
				side.Go(func() { c.run(ctx, req, pending[h:], res) })
				return
			}
			if whole.Reason == schemas.ReasonMessageTooLarge {
				whole.Class = predictor.PermanentInput // this one input's answer is too big
			}
			for _, i := range pending {
				e := *whole
				res[i] = result{err: &e}
			}
			if !predictor.IsTransient(whole) {
				return
			}
			retry, cause = pending, whole.Reason
		} else {
			suspect := len(pending) > 1 && hasOwnInputFailure(callRes)
			for k, i := range pending {
				r := callRes[k]
				res[i] = r
				switch {
				case r.err == nil:
				case suspect && r.err.Code == uint32(sc.StatusCode_INPUT_DOWNLOAD_FAILED):
					// Possibly collateral damage of another input's
					// failure: judge it on its own, once.
					c.countRetry(schemas.ReasonInputDownloadFailed+"_collateral", attempt, 0, 1)
					side.Go(func() { c.run(ctx, req, []int{i}, res) })
				case predictor.IsTransient(r.err):
					retry, cause = append(retry, i), r.err.Reason
				}
			}
		}
		if len(retry) == 0 {
			return
		}
		wait := b.NextBackOff()
		if wait == backoff.Stop {
			if ctx.Err() != nil {
				forget(res, retry)
			}
			return // the inputs keep their transient errors
		}
		c.countRetry(cause, attempt, wait, len(retry))
		if ctxtime.Sleep(ctx, wait) != nil {
			forget(res, retry)
			return
		}
		pending = retry
	}
}

// hasOwnInputFailure reports whether some input failed for a reason of its
// own other than 30002, which can make Clarifai fail its neighbours too.
func hasOwnInputFailure(rs []result) bool {
	for _, r := range rs {
		if r.err != nil && r.err.Class == predictor.PermanentInput && r.err.Code != 0 &&
			r.err.Code != uint32(sc.StatusCode_INPUT_DOWNLOAD_FAILED) {
			return true
		}
	}
	return false
}

func forget(res []result, idx []int) {
	for _, i := range idx {
		res[i] = result{}
	}
}

func (c *Client) countRetry(cause string, attempt int, wait time.Duration, inputs int) {
	c.metrics.retries.WithLabelValues(cause).Inc()
	c.log.Info().Str("cause", cause).Int("attempt", attempt).Stringer("wait", wait).
		Int("inputs", inputs).Msg("retrying clarifai call")
}

// call makes one PostModelOutputs call for the inputs at idx. It fills
// out[k] per input, or returns the error that judges the call as a whole.
// A non-nil error return means ctx ended.
func (c *Client) call(ctx context.Context, req *predictor.Request, idx []int, out []result) (*predictor.Error, error) {
	if err := c.quota.Take(ctx); err != nil {
		return nil, err
	}
	callCtx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout)
	defer cancel()
	callCtx = metadata.AppendToOutgoingContext(callCtx, "authorization", c.auth,
		"x-clarifai-request-id-prefix", c.prefix)

	start := time.Now()
	resp, err := c.v2.PostModelOutputs(callCtx, buildRequest(req, idx), grpc.MaxCallRecvMsgSize(c.cfg.MaxRecvMsgSize))
	latency := time.Since(start)
	c.metrics.latency.Observe(latency.Seconds())
	c.metrics.batchSize.Observe(float64(len(idx)))

	var whole *predictor.Error
	outcome := ""
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		r := classifyGRPC(err)
		whole = &predictor.Error{Class: r.class, Reason: r.reason, Err: err}
		outcome = "grpc_" + status.Code(err).String()
	} else {
		whole = mapResponse(resp, req, idx, out)
		outcome = resp.GetStatus().GetCode().String()
	}
	c.metrics.calls.WithLabelValues(outcome).Inc()

	switch {
	case whole != nil && whole.Reason == schemas.ReasonThrottled:
		if c.quota.Throttled() {
			c.metrics.throttlePauses.Inc()
			c.log.Warn().Stringer("pause", c.cfg.ThrottlePause).Float64("rate", c.quota.Rate()).
				Msg("clarifai throttled the client: pausing all calls and lowering the rate")
		}
	case whole == nil:
		c.quota.Succeeded()
	}

	ev := c.log.Debug()
	if whole != nil {
		ev = c.log.Warn().Str("reason", whole.Reason).Stringer("class", whole.Class)
	}
	ev.Str("model", req.Model.ID).Int("batch", len(idx)).Stringer("latency", latency).
		Str("req_id", resp.GetStatus().GetReqId()).Str("outcome", outcome).Msg("clarifai call")
	return whole, nil
}
