package publisher

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/imgpredict/worker/schemas"
)

// ModelToken is replaced by the model id in Config.ResultsSubject.
const ModelToken = "{model}"

// ErrInvalidConfig wraps every configuration error, and every error that
// says the outputs can never be stored as configured.
var ErrInvalidConfig = errors.New("invalid publisher config")

// Config says where outputs go. Start from DefaultConfig: a zero field is
// not replaced by its default. Each field's comment names its
// environment variable.
type Config struct {
	ResultsSubject    string        // WORKER_RESULTS_SUBJECT: may contain {model}
	DeadLetterSubject string        // WORKER_DEADLETTER_SUBJECT
	ResultsStream     string        // WORKER_RESULTS_STREAM: name of the results stream when the worker creates it
	DeadLetterStream  string        // WORKER_DEADLETTER_STREAM: name of the dead-letter stream when the worker creates it
	CreateStreams     bool          // WORKER_CREATE_STREAMS: create an output stream when none captures its subject
	Replicas          int           // WORKER_STREAM_REPLICAS: replicas of the streams the worker creates
	DuplicateWindow   time.Duration // WORKER_DUPLICATE_WINDOW: dedupe window of the streams the worker creates
	MaskBucket        string        // WORKER_MASK_BUCKET: Object Store bucket for masks that are not inlined
	// MaskInlineMax is the largest mask inlined in a result, in bytes;
	// larger ones go to MaskBucket, and so do smaller ones, largest
	// first, when a result would not fit the server's max_payload.
	MaskInlineMax int
	// OriginalBucket holds the original bytes of dead letters that would
	// not fit in one message (an image event near the size limit).
	OriginalBucket string
}

// DefaultConfig is the configuration the worker documents.
func DefaultConfig() Config {
	return Config{
		ResultsSubject:    "predictions." + ModelToken,
		DeadLetterSubject: "deadletters.images",
		ResultsStream:     "PREDICTIONS",
		DeadLetterStream:  "DEADLETTERS",
		CreateStreams:     true,
		Replicas:          1,
		DuplicateWindow:   10 * time.Minute,
		MaskBucket:        "masks",
		MaskInlineMax:     64 << 10,
		OriginalBucket:    "deadletters",
	}
}

// ResultsFilter is the subject filter of every result: ResultsSubject with
// its model token as a wildcard.
func (c Config) ResultsFilter() string {
	return strings.ReplaceAll(c.ResultsSubject, ModelToken, "*")
}

// Validate reports the first bad setting by its environment name.
func (c Config) Validate() error {
	switch {
	case !literal(strings.ReplaceAll(c.ResultsSubject, ModelToken, "m")):
		return invalid("WORKER_RESULTS_SUBJECT", "%q must be a literal subject, with an optional %s token", c.ResultsSubject, ModelToken)
	case !literal(c.DeadLetterSubject):
		return invalid("WORKER_DEADLETTER_SUBJECT", "%q must be a literal subject", c.DeadLetterSubject)
	case c.ResultsStream == "":
		return invalid("WORKER_RESULTS_STREAM", "must not be empty")
	case c.DeadLetterStream == "":
		return invalid("WORKER_DEADLETTER_STREAM", "must not be empty")
	case c.Replicas < 1 || c.Replicas > 5:
		return invalid("WORKER_STREAM_REPLICAS", "must be 1-5, got %d", c.Replicas)
	case c.DuplicateWindow < time.Second:
		return invalid("WORKER_DUPLICATE_WINDOW", "must be at least 1s, got %s", c.DuplicateWindow)
	case !schemas.BucketName(c.MaskBucket):
		return invalid("WORKER_MASK_BUCKET", "%q must be letters, digits, '-' and '_'", c.MaskBucket)
	case !schemas.BucketName(c.OriginalBucket):
		return invalid("OriginalBucket", "%q must be letters, digits, '-' and '_'", c.OriginalBucket)
	case c.MaskInlineMax < 0:
		return invalid("MaskInlineMax", "must not be negative")
	}
	return nil
}

// literal reports whether s is a subject without wildcards or empty tokens.
func literal(s string) bool {
	if s == "" || strings.ContainsAny(s, "*> \t\r\n") {
		return false
	}
	for tok := range strings.SplitSeq(s, ".") {
		if tok == "" {
			return false
		}
	}
	return true
}

func invalid(setting, format string, args ...any) error {
	return fmt.Errorf("%w: %s %s", ErrInvalidConfig, setting, fmt.Sprintf(format, args...))
}
