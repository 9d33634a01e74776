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
func (c *Consumer) call(ctx context.Context, batch []*task, done func()) {
	outs := c.pred.Predict(ctx, request(batch))
	done()
	if len(outs) != len(batch) { // a broken predictor must not lose events
		err := fmt.Errorf("predictor returned %d outcomes for %d inputs", len(outs), len(batch))
		c.log.Error().Err(err).Msg("predict")
		outs = make([]predictor.Outcome, len(batch))
		for i := range outs {
			outs[i].Err = err
		}
	}
	stopping := ctx.Err() != nil
	results := make([]output, len(batch))
	for i, t := range batch {
		results[i] = output{t: t, f: decide(outs[i], t.m.meta.NumDelivered, &c.cfg, stopping), pred: outs[i].Prediction}
	}
	c.deliver(ctx, results)
}
