// Package tail follows the worker's results and dead letters and prints
// them as a table (kind, event id, status code, regions, top concepts or
// the dead letter's reason) or as raw JSON lines.
//
// It reads through ordered consumers on the results and dead-letter
// streams: only new messages by default, or everything the streams hold
// with Config.All. FormatTable prints the same table for results that a
// program has collected itself.
package tail
