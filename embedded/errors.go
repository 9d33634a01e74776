package embedded

import "errors"

// ErrInvalidConfig is wrapped by every error of Config.Validate.
var ErrInvalidConfig = errors.New("embedded: invalid config")

// ErrNotReady means the server did not accept connections in time.
var ErrNotReady = errors.New("embedded: server not ready for connections")
