// Package natstest runs in-process NATS servers with JetStream for tests
// and benchmarks: real servers, each with its own store and limits.
package natstest
