package consumer

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/schemas"
)

func TestDecide(t *testing.T) {
	cfg := testConfig() // MaxDeliver 3
	throttled := &predictor.Error{Class: predictor.Transient, Code: 11005, Reason: "throttled"}
	tests := []struct {
		name       string
		err        error
		deliveries uint64
		stopping   bool
		want       fateKind
		reason     string
	}{
		{"success", nil, 1, false, publishResult, ""},
		{"transient call, first delivery", throttled, 1, false, retryLater, ""},
		{"transient input, second delivery", &predictor.Error{Class: predictor.TransientInput, Reason: "output_missing"}, 2, false, retryLater, ""},
		{"transient on the last allowed delivery", throttled, 3, false, deadLetter, schemas.ReasonMaxDeliveries},
		{"permanent call", &predictor.Error{Class: predictor.Permanent, Code: 21200, Reason: "model_not_found"}, 1, false, deadLetter, "model_not_found"},
		{"permanent input", &predictor.Error{Class: predictor.PermanentInput, Code: 30101, Reason: "unsupported_format"}, 1, false, deadLetter, "unsupported_format"},
		{"wrapped classified error", fmt.Errorf("call: %w", &predictor.Error{Class: predictor.PermanentInput, Reason: "invalid_input"}), 1, false, deadLetter, "invalid_input"},
		{"unclassified error is transient", errors.New("boom"), 1, false, retryLater, ""},
		{"unclassified on the last delivery", errors.New("boom"), 3, false, deadLetter, schemas.ReasonMaxDeliveries},
		{"account failure", &predictor.Error{Class: predictor.Account, Code: 11007, Reason: "auth_failed"}, 3, false, pauseAll, "auth_failed"},
		// Nothing would resume a pause after the worker stops.
		{"account failure while stopping", &predictor.Error{Class: predictor.Account, Code: 11007, Reason: "auth_failed"}, 1, true, handBack, ""},
		{"shutdown", context.Canceled, 1, true, handBack, ""},
		{"shutdown wait over", fmt.Errorf("predict: %w", context.DeadlineExceeded), 3, true, handBack, ""},
		// The predictor's own timeout (a download, say) is no shutdown.
		{"context error while running", fmt.Errorf("download: %w", context.DeadlineExceeded), 1, false, retryLater, ""},
		{"context error while running, last delivery", fmt.Errorf("download: %w", context.DeadlineExceeded), 3, false, deadLetter, schemas.ReasonMaxDeliveries},
		{"classified context error while running", &predictor.Error{Class: predictor.PermanentInput, Reason: "input_download_failed", Code: 30002, Err: context.DeadlineExceeded}, 1, false, deadLetter, "input_download_failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := predictor.Outcome{Err: tc.err}
			if tc.err == nil {
				o.Prediction = &predictor.Prediction{}
			}
			f := decide(o, tc.deliveries, &cfg, tc.stopping)
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

// TestBrokenOutcomeIsAFailure: an outcome with neither a prediction nor an
// error must not crash the worker or publish an empty result.
func TestBrokenOutcomeIsAFailure(t *testing.T) {
	cfg := testConfig()
	require.Equal(t, retryLater, decide(predictor.Outcome{}, 1, &cfg, false).kind)
	require.Equal(t, deadLetter, decide(predictor.Outcome{}, 3, &cfg, false).kind)
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
