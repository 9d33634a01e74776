package clarifai

import "context"

// Limiter holds calls under the account's quota. quota.Local, the
// default, limits this process alone.
type Limiter interface {
	// Ready blocks until a call could start at once, taking nothing.
	Ready(ctx context.Context) error
	// Take blocks until one call may start, and counts it.
	Take(ctx context.Context) error
	// Throttled reports a throttling answer; it returns whether this
	// answer started a pause (many calls may hit the same throttle).
	Throttled() bool
	// Succeeded reports a call Clarifai accepted.
	Succeeded()
	// Rate is the current calls per second, for logs.
	Rate() float64
}
