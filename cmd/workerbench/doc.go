// Command workerbench measures the worker against ceilings measured in
// the same run, in two modes.
//
// In process: the worker's packages run in this process beside an
// in-process NATS server with file storage and the fake Clarifai server
// of predictor/clarifai/clarifaitest; the worker is set against the broker (how
// fast JetStream can pull, publish and ack on this machine) and the
// account's quota (calls/s × 128 inputs), with latency, memory, a naive
// loop and a sweep of the batching settings. Two runs show what events
// that share work cost: half the events repeating an earlier inline
// image, with the worker's memo (idempotency records and result cache)
// as deployed, give the inputs sent per event and the events/s of a
// backlog answered wholly from the cache; a third of the events asking
// three models gives the inputs per call and images/s per model under
// backlog.
//
// As deployed: the worker binary, built with go build, runs as a process
// of its own configured by its environment variables; the NATS server
// runs in another (this program started again in a serve mode); the fake
// Clarifai answers at once over gRPC from this process. The worker, with
// its default settings and with each variant (by default: Go's GC target,
// and the KV-backed features off),
// alternates with the ceiling loop on the same server; each process's
// CPU, the worker's allocations and GC share (from its /metrics) and peak
// RSS are per event over the drain of a backlog. Then three worker
// processes share one account's 15 calls/s through the fleet quota,
// against a fake that throttles every call beyond them in any second:
// images/s against the quota ceiling, throttled calls, and how long the
// replicas take to count the fleet again after one is killed and after
// one is added.
//
// Every scenario starts on fresh streams. The report is a table (or JSON
// with --json); every figure that drifts with the machine is also given
// as a ratio against a ceiling measured in the same run.
//
//	go run ./cmd/workerbench [--mode all|in-process|deployed] [--quick] [--json]
//	                         [--chart docs/performance.svg] [--latency 150ms] [--rate 15]
//	                         [--cpuprofile cpu.out] [--worker-cpuprofile worker.out]
//	                         [--deployed-events 100000] [--variants "GOGC=100; WORKER_CACHE_TTL=0"]
//
// --quick runs every scenario with small sizes, for a smoke test; the
// full run takes a few minutes on two cores.
package main
