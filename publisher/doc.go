// Package publisher writes results and dead letters to JetStream.
//
// Every publish is asynchronous and carries a Nats-Msg-Id, so that the
// caller can acknowledge an input only once its output is stored, and a
// redelivered input inside the stream's duplicate window never yields a
// second output message. Segmentation masks larger than a configured size
// are stored in an Object Store bucket and referenced from the result,
// which keeps result messages well under the server's payload limit.
package publisher
