package streams

import (
	"context"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/rs/zerolog"

	"github.com/imgpredict/worker/internal/ctxtime"
)

// Retry runs try until it succeeds, fails in a way that CannotWork
// reports (that error is returned), or ctx ends (ctx's error). Between
// tries it waits with exponential backoff from 200 ms up to 5 s and logs
// what failed under what.
func Retry(ctx context.Context, log zerolog.Logger, what string, try func(context.Context) error) error {
	bo := backoff.NewExponentialBackOff(backoff.WithInitialInterval(200*time.Millisecond),
		backoff.WithMaxInterval(5*time.Second), backoff.WithMaxElapsedTime(0))
	for {
		err := try(ctx)
		if err == nil || CannotWork(err) {
			return err
		}
		d := bo.NextBackOff()
		log.Warn().Err(err).Stringer("retry_in", d).Msg(what)
		if ctxtime.Sleep(ctx, d) != nil {
			return ctx.Err()
		}
	}
}
