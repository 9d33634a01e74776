package tail

import "fmt"

// Defaults of Config; they match the worker's streams.
const (
	DefaultResultsStream     = "PREDICTIONS"
	DefaultResultsSubject    = "predictions.>"
	DefaultDeadLetterStream  = "DEADLETTERS"
	DefaultDeadLetterSubject = "deadletters.>"
)

// Config tunes Run. Zero values take the defaults.
type Config struct {
	ResultsStream     string
	ResultsSubject    string // filter within ResultsStream
	DeadLetterStream  string
	DeadLetterSubject string // filter within DeadLetterStream
	// JSON prints each message's JSON on one line instead of a table row.
	JSON bool
	// Count ends Run after this many messages; 0 follows until ctx ends.
	Count int
	// All replays the streams from their start; otherwise only messages
	// arriving after Run starts are shown.
	All bool
}

func (c *Config) setDefaults() {
	if c.ResultsStream == "" {
		c.ResultsStream = DefaultResultsStream
	}
	if c.ResultsSubject == "" {
		c.ResultsSubject = DefaultResultsSubject
	}
	if c.DeadLetterStream == "" {
		c.DeadLetterStream = DefaultDeadLetterStream
	}
	if c.DeadLetterSubject == "" {
		c.DeadLetterSubject = DefaultDeadLetterSubject
	}
}

// Validate checks the settings; zero values stand for their defaults.
func (c Config) Validate() error {
	if c.Count < 0 {
		return fmt.Errorf("%w: Count %d is negative", ErrInvalidConfig, c.Count)
	}
	return nil
}
