package consumer

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/predictor"
)

func TestDecide(t *testing.T) {
	cfg := testConfig()
	cfg.SetDefaults() // MaxDeliver 3
	throttled := &predictor.Error{Class: predictor.Transient, Code: 11005, Reason: "throttled"}
	tests := []struct {
		name       string
		err        error
		deliveries uint64
		want       fateKind
		reason     string
	}{
		{"success", nil, 1, publishResult, ""},
		{"transient call, first delivery", throttled, 1, retryLater, ""},
		{"transient input, second delivery", &predictor.Error{Class: predictor.TransientInput, Reason: "output_missing"}, 2, retryLater, ""},
		{"transient on the last allowed delivery", throttled, 3, deadLetter, reasonMaxDeliveries},
		{"permanent call", &predictor.Error{Class: predictor.Permanent, Code: 21200, Reason: "model_not_found"}, 1, deadLetter, "model_not_found"},
		{"permanent input", &predictor.Error{Class: predictor.PermanentInput, Code: 30101, Reason: "unsupported_format"}, 1, deadLetter, "unsupported_format"},
		{"wrapped classified error", fmt.Errorf("call: %w", &predictor.Error{Class: predictor.PermanentInput, Reason: "invalid_input"}), 1, deadLetter, "invalid_input"},
		{"unclassified error is transient", errors.New("boom"), 1, retryLater, ""},
		{"unclassified on the last delivery", errors.New("boom"), 3, deadLetter, reasonMaxDeliveries},
		{"shutdown", context.Canceled, 1, handBack, ""},
		{"shutdown wait over", fmt.Errorf("predict: %w", context.DeadlineExceeded), 3, handBack, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := decide(tc.err, tc.deliveries, &cfg)
			require.Equal(t, tc.want, f.kind)
			require.Equal(t, tc.reason, f.reason)
			if f.kind == retryLater {
				require.Positive(t, f.delay)
			}
			if f.kind == deadLetter {
				require.NotEmpty(t, f.description)
			}
		})
	}
}

func TestNakDelayGrowsToItsCap(t *testing.T) {
	cfg := Config{NakDelayBase: time.Second, NakDelayMax: 30 * time.Second}
	prev := time.Duration(0)
	for d := uint64(1); d <= 5; d++ {
		got := nakDelay(d, &cfg)
		base := time.Second << (d - 1)
		require.InDelta(t, float64(base), float64(got), 0.2*float64(base)+1, "delivery %d", d)
		require.Greater(t, got, prev*6/10)
		prev = got
	}
	require.LessOrEqual(t, nakDelay(20, &cfg), 36*time.Second, "capped (with jitter)")
}
