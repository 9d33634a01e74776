package status

import (
	"errors"
	"fmt"
	"time"
)

// Defaults of the settings that are the tool's own.
const (
	DefaultSince   = 15 * time.Minute
	DefaultMaxRead = 100_000
)

// ErrInvalidConfig wraps every error of Config.Validate.
var ErrInvalidConfig = errors.New("status: invalid config")

// ErrNoConsumer is returned when the input stream exists but the durable
// consumer does not.
var ErrNoConsumer = errors.New("status: the durable consumer does not exist")

// Config says which worker to look at: the worker's own settings, and
// how far back to count outputs. Every field is required; Since and
// MaxRead have defaults above.
type Config struct {
	Subjects         []string      // WORKER_SUBJECTS: the input subjects
	Durable          string        // WORKER_CONSUMER
	ResultsFilter    string        // WORKER_RESULTS_SUBJECT with {model} as '*'
	DeadLetterFilter string        // WORKER_DEADLETTER_SUBJECT
	Since            time.Duration // outputs stored this long ago or later are counted
	MaxRead          int           // dead letters read for their reasons, at most
}

// Validate reports the first bad field.
func (c Config) Validate() error {
	switch {
	case len(c.Subjects) == 0:
		return fmt.Errorf("%w: no input subjects (WORKER_SUBJECTS)", ErrInvalidConfig)
	case c.Durable == "":
		return fmt.Errorf("%w: no durable consumer (WORKER_CONSUMER)", ErrInvalidConfig)
	case c.ResultsFilter == "":
		return fmt.Errorf("%w: no results subject (WORKER_RESULTS_SUBJECT)", ErrInvalidConfig)
	case c.DeadLetterFilter == "":
		return fmt.Errorf("%w: no dead-letter subject (WORKER_DEADLETTER_SUBJECT)", ErrInvalidConfig)
	case c.Since <= 0:
		return fmt.Errorf("%w: since %s must be above 0", ErrInvalidConfig, c.Since)
	case c.MaxRead <= 0:
		return fmt.Errorf("%w: max read %d must be above 0", ErrInvalidConfig, c.MaxRead)
	}
	return nil
}
