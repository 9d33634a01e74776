package streams

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"
)

// Find returns the one stream that captures every filter, as Ensure
// finds it, or "" when no stream captures any of them. It never creates
// or changes a stream, so a read-only user may call it.
func Find(ctx context.Context, js jetstream.JetStream, setting string, filters []string) (string, error) {
	return find(ctx, js, Want{Setting: setting, Filters: filters})
}
