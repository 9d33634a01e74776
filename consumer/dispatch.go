package consumer

import (
	"context"
	"fmt"

	"github.com/imgpredict/worker/predictor"
)

// maxTopUps bounds how many times one call asks for more tasks: with every
// task answered from the memory, a call slot would otherwise go on
// draining its group without ever calling.
const maxTopUps = 4

// dispatchLoop starts a call whenever a call slot and quota are free,
// asking the batcher for a batch only then, so that it fills while it
// waits. Calls run under finishCtx, which outlives ctx by ShutdownWait;
// they ask the batcher for more tasks while it runs (until ctx ends).
func (c *Consumer) dispatchLoop(ctx, finishCtx context.Context, want chan<- struct{}, batches <-chan []*task, topUps chan<- topUp) {
	more := func(key string, n int) []*task {
		r := topUp{key: key, n: n, reply: make(chan []*task, 1)}
		select {
		case topUps <- r:
			return <-r.reply
		case <-ctx.Done():
			return nil
		}
	}
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
			c.call(finishCtx, batch, more, func() {
				c.metrics.inflight.Dec()
				<-inflight
			})
		})
	}
}

// call predicts one batch, then publishes and settles every task of it.
// What is already stored or cached is not predicted, an image that
// repeats in the batch is predicted once, and an image that another call
// in flight is predicting waits for that call's result (twins.go); the
// places they free are filled with more tasks of the group (from more)
// before the call goes out.
func (c *Consumer) call(ctx context.Context, batch []*task, more func(key string, n int) []*task, done func()) {
	key := batch[0].key
	mine := make(map[string]bool) // the cache keys this call leads
	endWaits(batch)
	batch = c.twins.join(c.recall(ctx, batch), mine)
	req, input := request(batch)
	for range maxTopUps {
		if c.memory == nil || len(req.Inputs) >= c.cfg.BatchSize {
			break
		}
		extra := more(key, c.cfg.BatchSize-len(req.Inputs))
		if len(extra) == 0 {
			break
		}
		endWaits(extra)
		batch = append(batch, c.twins.join(c.recall(ctx, extra), mine)...)
		req, input = request(batch)
	}
	if len(batch) == 0 {
		done()
		return
	}
	if n := len(batch) - len(req.Inputs); n > 0 {
		c.metrics.saved.WithLabelValues("batch_duplicate").Add(float64(n))
	}
	pctx, span := c.tracePredict(ctx, batch, req)
	outs := c.pred.Predict(pctx, req)
	done()
	endPredict(span, outs)
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
			if !c.twins.follow(t) {
				parked, cause = append(parked, t), f.cause
			}
			continue
		}
		results = append(results, output{t: t, f: f, pred: o.Prediction})
	}
	if parked != nil {
		c.parkAll(ctx, parked, cause)
	}
	c.deliver(ctx, results)
}
