// Package publisher writes results and dead letters to JetStream and owns
// their contracts: the subject of each (results by the model asked), its
// Nats-Msg-Id (from the event id and the model asked, so that a
// redelivered event inside the stream's duplicate window never yields a
// second output), the streams that store them, and their size.
//
// Setup finds the streams by the subjects it publishes to, whatever their
// names, and creates one only when none captures a subject. Every publish
// is asynchronous: the caller acknowledges an input only once the
// returned future says its output is stored. A result never exceeds the
// server's max_payload: masks over MaskInlineMax, then the largest of the
// rest, go to an Object Store bucket and are referenced; a result that
// still does not fit fails with a *TooLargeError.
package publisher
