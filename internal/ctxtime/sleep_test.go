package ctxtime_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/imgpredict/worker/internal/ctxtime"
)

func TestSleepEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ctxtime.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep on an ended context returned %v, want context.Canceled", err)
	}
	if err := ctxtime.Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatalf("Sleep returned %v after its time", err)
	}
}
