// Package deploy holds deployment examples: a docker-compose stack,
// Kubernetes manifests and a KEDA ScaledObject. It has no code; its test
// checks that the examples parse and refer to each other consistently.
package deploy
