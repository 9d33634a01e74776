// Package deploy holds deployment examples: a docker-compose stack,
// Kubernetes manifests, a KEDA ScaledObject, a Grafana dashboard,
// Prometheus alerting rules and NATS permissions. Its only code reads the
// dashboard and the rules for tests: its own check that the examples
// parse and refer to each other consistently, and the worker's check
// that every metric they use is one it registers.
package deploy
