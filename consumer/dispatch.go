package consumer

import (
	"context"
	"fmt"

	"github.com/imgpredict/worker/predictor"
)

// dispatchLoop starts a call whenever a call slot and quota are free,
// asking the batcher for a batch only then, so that it fills while it
// waits. Calls run under finishCtx, which outlives ctx by ShutdownWait.
func (c *Consumer) dispatchLoop(ctx, finishCtx context.Context, want chan<- struct{}, batches <-chan []*task) {
	inflight := make(chan struct{}, c.cfg.MaxInflight)
	for {
		select {
		case inflight <- struct{}{}:
		case <-ctx.Done():
			return
		}
		if !c.pause.wait(ctx) {
			return
		}
		if err := c.pred.Ready(ctx); err != nil {
			return
		}
		select {
		case want <- struct{}{}:
		case <-ctx.Done():
			return
		}
		var batch []*task
		select {
		case batch = <-batches:
		case <-ctx.Done():
			return // the batcher hands back what it would have sent
		}
		if cause, _ := c.pause.paused(); cause != nil { // paused while this batch formed
			c.parkAll(ctx, batch, cause)
			<-inflight
			continue
		}
		c.metrics.inflight.Inc()
		c.wg.Go(func() {
			c.call(finishCtx, batch, func() {
				c.metrics.inflight.Dec()
				<-inflight
			})
		})
	}
}

// call predicts one batch, then publishes and settles every task of it.
// What is already stored or cached is not predicted, and an image that
// repeats in the batch is predicted once.
func (c *Consumer) call(ctx context.Context, batch []*task, done func()) {
	if batch = c.recall(ctx, batch); len(batch) == 0 {
		done()
		return
	}
	req, input := request(batch)
	if n := len(batch) - len(req.Inputs); n > 0 {
		c.metrics.saved.WithLabelValues("batch_duplicate").Add(float64(n))
	}
	outs := c.pred.Predict(ctx, req)
	done()
	if len(outs) != len(req.Inputs) { // a broken predictor must not lose events
		err := fmt.Errorf("%w: %d outcomes for %d inputs", errBrokenPredictor, len(outs), len(req.Inputs))
		c.log.Error().Err(err).Msg("predict")
		outs = make([]predictor.Outcome, len(req.Inputs))
		for i := range outs {
			outs[i].Err = err
		}
	}
	stopping := ctx.Err() != nil
	results := make([]output, 0, len(batch))
	var parked []*task
	var cause *predictor.Error
	for i, t := range batch {
		o := outs[input[i]]
		f := decide(o, t.m.meta.NumDelivered, &c.cfg, stopping)
		if f.kind == pauseAll {
			parked, cause = append(parked, t), f.cause
			continue
		}
		results = append(results, output{t: t, f: f, pred: o.Prediction})
	}
	if parked != nil {
		c.parkAll(ctx, parked, cause)
	}
	c.deliver(ctx, results)
}
