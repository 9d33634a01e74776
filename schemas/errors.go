package schemas

import "fmt"

// InvalidEventError says why DecodeEvent rejected a message. Retrying
// cannot help: the message belongs in a dead letter.
type InvalidEventError struct {
	Reason      string // one of the Reason constants
	Description string // for humans; the wording may change
	EventID     string // the event's id when it was readable and valid, else empty
}

func (e *InvalidEventError) Error() string {
	if e.EventID == "" {
		return fmt.Sprintf("invalid event: %s: %s", e.Reason, e.Description)
	}
	return fmt.Sprintf("invalid event %q: %s: %s", e.EventID, e.Reason, e.Description)
}
