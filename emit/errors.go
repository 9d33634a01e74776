package emit

import "errors"

// ErrInvalidConfig is wrapped by every error of Config.Validate.
var ErrInvalidConfig = errors.New("emit: invalid config")

// Errors of Run.
var (
	// ErrNoEvents means the sources held nothing to emit.
	ErrNoEvents = errors.New("emit: no images or events in the sources")
	// ErrNoStream means no stream captures the subject, so nothing would be stored.
	ErrNoStream = errors.New("emit: no stream captures the subject")
	// ErrIncomplete means some events failed; Stats says how many.
	ErrIncomplete = errors.New("emit: some events were not published")
)
