package consumer

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/imgpredict/worker/predictor"
)

// fateKind is what becomes of an input message.
type fateKind int

const (
	// publishResult: publish the result, then Ack.
	publishResult fateKind = iota + 1
	// deadLetter: publish a dead letter, then Term.
	deadLetter
	// retryLater: NakWithDelay, so the event comes back after a pause.
	retryLater
	// handBack: Nak without delay, so another replica takes it at once.
	handBack
)

// fate is the decision for one message, with what its output needs.
type fate struct {
	kind        fateKind
	reason      string // dead letters
	code        uint32 // dead letters: Clarifai code or 0
	description string
	delay       time.Duration // retryLater
}

// Reasons of dead letters decided here (the predictor and the schemas
// package supply the others).
const (
	reasonMaxDeliveries = "max_deliveries"
	reasonPredictFailed = "predict_failed"
)

// decide is the one place that maps an outcome to a fate. err is the
// outcome's error (nil = success); deliveries counts this delivery.
func decide(err error, deliveries uint64, cfg *Config) fate {
	if err == nil {
		return fate{kind: publishResult}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fate{kind: handBack, description: err.Error()}
	}
	var pe *predictor.Error
	if !errors.As(err, &pe) {
		pe = &predictor.Error{Class: predictor.Transient, Reason: reasonPredictFailed, Description: err.Error()}
	}
	if predictor.IsTransient(pe) {
		if deliveries >= uint64(cfg.MaxDeliver) {
			return fate{kind: deadLetter, reason: reasonMaxDeliveries, code: pe.Code,
				description: "still failing after the last allowed delivery: " + pe.Error()}
		}
		return fate{kind: retryLater, delay: nakDelay(deliveries, cfg), description: pe.Error()}
	}
	return fate{kind: deadLetter, reason: pe.Reason, code: pe.Code, description: pe.Error()}
}

// nakDelay grows exponentially with the deliveries so far, with ±20%
// jitter so that a burst of failures does not come back all at once.
func nakDelay(deliveries uint64, cfg *Config) time.Duration {
	d := cfg.NakDelayBase
	for i := uint64(1); i < deliveries && d < cfg.NakDelayMax; i++ {
		d *= 2
	}
	d = min(d, cfg.NakDelayMax)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
