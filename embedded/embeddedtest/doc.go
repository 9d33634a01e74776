// Package embeddedtest starts embedded JetStream servers for tests: a
// random port, a temporary data directory, small limits, and cleanup when
// the test ends.
package embeddedtest
