// Command workerbench measures the worker against its two ceilings in one
// run: the broker (how fast JetStream can pull, publish and ack on this
// machine) and the account's quota (calls/s × 128 inputs). It starts an
// in-process NATS server with file storage and the fake Clarifai server of
// predictor/clarifaitest, runs each scenario on fresh streams, and prints
// a table (or JSON with --json). Every figure that drifts with the machine
// is also given as a ratio against a ceiling measured in the same run.
//
//	go run ./cmd/workerbench [--quick] [--json] [--chart docs/performance.svg]
//	                         [--latency 150ms] [--rate 15] [--cpuprofile cpu.out]
//
// --quick runs every scenario with small sizes (under a minute), for a
// smoke test; the full run takes a few minutes on two cores.
package main
