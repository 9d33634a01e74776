// Package streams finds the JetStream stream that captures a subject,
// whatever its name, and creates one only when none does. The worker's
// input, results and dead-letter streams are all found this way, so that
// streams an operator made under other names are used as they are.
package streams

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/imgpredict/worker/internal/subjects"
)

// ErrCannotWork wraps errors that no retry can cure: the subjects, the
// existing streams and the settings contradict each other. The message
// names the setting to change.
var ErrCannotWork = errors.New("configuration cannot work")

// Want says which subjects must be captured and how to create a stream
// for them when none exists.
type Want struct {
	// Setting names the setting that chose the subjects, for errors.
	Setting string
	// Filters are the subjects the stream must capture (wildcards allowed).
	Filters []string
	// Create is used when no stream captures any filter, if Allowed.
	Create  jetstream.StreamConfig
	Allowed bool
}

// Ensure returns the name of the one stream that captures every filter,
// creating w.Create when none captures any of them and creation is
// allowed; created says whether it did. Errors that contradict the
// configuration wrap ErrCannotWork; others (broker down, leader election)
// may pass.
func Ensure(ctx context.Context, js jetstream.JetStream, w Want) (name string, created bool, err error) {
	for attempt := 0; attempt < 2; attempt++ {
		name, err = find(ctx, js, w)
		if err != nil || name != "" {
			return name, false, err
		}
		if !w.Allowed {
			return "", false, fmt.Errorf("%w: no stream captures %s %v and WORKER_CREATE_STREAMS is false", ErrCannotWork, w.Setting, w.Filters)
		}
		_, err = js.CreateStream(ctx, w.Create)
		switch {
		case err == nil:
			return w.Create.Name, true, nil
		case errors.Is(err, jetstream.ErrStreamNameAlreadyInUse):
			continue // another replica was faster, or the name holds other subjects: look again
		case isBadRequest(err):
			return "", false, fmt.Errorf("%w: creating stream %s for %s %v: %v", ErrCannotWork, w.Create.Name, w.Setting, w.Create.Subjects, err)
		default:
			return "", false, fmt.Errorf("create stream %s: %w", w.Create.Name, err)
		}
	}
	return "", false, fmt.Errorf("%w: a stream named %s exists but does not capture %s %v; name another stream or subjects", ErrCannotWork, w.Create.Name, w.Setting, w.Filters)
}

// find returns the stream that captures all filters, "" when no stream
// captures any part of them.
func find(ctx context.Context, js jetstream.JetStream, w Want) (string, error) {
	var found string
	for _, f := range w.Filters {
		names, err := colliding(ctx, js, f)
		if err != nil {
			return "", err
		}
		switch {
		case len(names) == 0:
			if found != "" {
				return "", fmt.Errorf("%w: stream %s captures part of %s but not %s", ErrCannotWork, found, w.Setting, f)
			}
			continue
		case len(names) > 1:
			return "", fmt.Errorf("%w: %s %s is split over streams %v; one stream must capture it", ErrCannotWork, w.Setting, f, names)
		}
		s, err := js.Stream(ctx, names[0])
		if err != nil {
			return "", fmt.Errorf("stream %s: %w", names[0], err)
		}
		if !slices.ContainsFunc(s.CachedInfo().Config.Subjects, func(p string) bool { return subjects.Covers(p, f) }) {
			return "", fmt.Errorf("%w: stream %s (subjects %v) captures only part of %s %s", ErrCannotWork, names[0], s.CachedInfo().Config.Subjects, w.Setting, f)
		}
		if found != "" && found != names[0] {
			return "", fmt.Errorf("%w: %s is split over streams %s and %s; one stream must capture it", ErrCannotWork, w.Setting, found, names[0])
		}
		found = names[0]
	}
	return found, nil
}

// colliding lists the streams with a subject that overlaps filter.
func colliding(ctx context.Context, js jetstream.JetStream, filter string) ([]string, error) {
	l := js.StreamNames(ctx, jetstream.WithStreamListSubject(filter))
	var names []string
	for n := range l.Name() {
		names = append(names, n)
	}
	if err := l.Err(); err != nil {
		return nil, fmt.Errorf("list streams for %s: %w", filter, err)
	}
	return names, nil
}

// isBadRequest reports an API error that the same request can never pass.
func isBadRequest(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.Code == 400
}

// CannotWork reports whether err means the configuration can never work:
// it wraps ErrCannotWork, or the server rejected a request as invalid.
func CannotWork(err error) bool {
	return errors.Is(err, ErrCannotWork) || isBadRequest(err)
}
