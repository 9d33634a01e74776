// Package status reports, from NATS alone, what an operator asks about a
// running worker: the input stream, the durable consumer's backlog and
// pause, and the results and dead letters stored in the last minutes,
// with dead letters counted by reason.
//
// Streams are found by subject, as the worker finds them. The outputs of
// the window are counted from the pending count of an ordered consumer
// that starts at the window's start time, so results are never read; dead
// letters are read, from the same start, only for their error.reason, and
// at most Config.MaxRead of them.
package status
