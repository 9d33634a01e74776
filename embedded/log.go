package embedded

import (
	"fmt"

	"github.com/rs/zerolog"
)

// serverLogger routes nats-server's log into zerolog. Notices go to debug:
// the server is chatty at start and Start logs the one line that matters.
type serverLogger struct {
	log zerolog.Logger
	// fatal receives the first fatal message, so Start fails at once
	// (e.g. address in use) instead of waiting for its timeout.
	fatal chan string
}

func (l serverLogger) Noticef(format string, v ...any) { l.log.Debug().Msgf(format, v...) }
func (l serverLogger) Warnf(format string, v ...any)   { l.log.Warn().Msgf(format, v...) }
func (l serverLogger) Errorf(format string, v ...any)  { l.log.Error().Msgf(format, v...) }
func (l serverLogger) Debugf(format string, v ...any)  { l.log.Debug().Msgf(format, v...) }
func (l serverLogger) Tracef(format string, v ...any)  { l.log.Trace().Msgf(format, v...) }

// Fatalf does not exit: the server must not end the worker's process.
func (l serverLogger) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.log.Error().Msg(msg)
	select {
	case l.fatal <- msg:
	default:
	}
}
