package consumer

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/schemas"
)

// fateKind is what becomes of one task (one model asked of one event).
type fateKind int

const (
	// publishResult: publish the result; the task is done once it is stored.
	publishResult fateKind = iota + 1
	// deadLetter: publish a dead letter; the task is done once it is stored.
	deadLetter
	// retryLater: no output; the message is Nak'd with a delay that grows
	// with its deliveries.
	retryLater
	// handBack: no output; the message is Nak'd at once (shutdown).
	handBack
	// alreadyStored: no output; an earlier delivery stored it.
	alreadyStored
	// pauseAll: the account cannot call at all; hold the task, pause
	// every replica and probe until it can.
	pauseAll
)

// fate is the decision for one task, with what its output needs.
type fate struct {
	kind        fateKind
	reason      string // deadLetter
	code        uint32 // deadLetter: Clarifai's status code or 0
	description string
	delay       time.Duration    // retryLater
	cause       *predictor.Error // pauseAll
}

// decide is the one place that maps a predictor's outcome to a fate;
// everything else names its fate with the constructors below it.
// deliveries counts this delivery; stopping says the worker's own
// shutdown ended the call, the only case in which a context error is not
// a failure of the prediction.
func decide(o predictor.Outcome, deliveries uint64, cfg *Config, stopping bool) fate {
	err := o.Err
	switch {
	case err == nil && o.Prediction != nil:
		return fate{kind: publishResult}
	case err == nil:
		err = errors.New("the predictor returned neither a prediction nor an error")
	case stopping && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		return shutdown("shutdown ended the call: " + err.Error())
	}
	var pe *predictor.Error
	if !errors.As(err, &pe) {
		pe = &predictor.Error{Class: predictor.Transient, Reason: schemas.ReasonPredictFailed, Description: err.Error()}
	}
	switch {
	case pe.Class == predictor.Account && stopping: // no pause outlives the worker
		return shutdown("shutting down while the account cannot make calls: " + pe.Error())
	case pe.Class == predictor.Account:
		return fate{kind: pauseAll, reason: pe.Reason, code: pe.Code, description: pe.Description, cause: pe}
	}
	if predictor.IsTransient(pe) {
		if deliveries >= uint64(cfg.MaxDeliver) {
			return fate{kind: deadLetter, reason: schemas.ReasonMaxDeliveries, code: pe.Code,
				description: "still failing after the last allowed delivery: " + pe.Error()}
		}
		return fate{kind: retryLater, delay: nakDelay(deliveries, cfg), description: pe.Error()}
	}
	return fate{kind: deadLetter, reason: pe.Reason, code: pe.Code, description: pe.Error()}
}

// dead is a dead letter the worker decides on its own (code 0).
func dead(reason, description string) fate {
	return fate{kind: deadLetter, reason: reason, description: description}
}

// already ends a task whose output an earlier delivery stored.
func already() fate { return fate{kind: alreadyStored} }

// shutdown hands a task back because the worker is stopping.
func shutdown(description string) fate {
	return fate{kind: handBack, description: description}
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
