// Package natstest runs in-process NATS servers with JetStream for tests:
// real servers, each with its own store and limits, restartable on the
// same port and store.
package natstest
