//go:build integration

// Package integration runs the worker as containers against real NATS
// servers (single node and a three-node JetStream cluster) and a fake
// Clarifai server, injects faults (server restart, leader kill, worker
// crash, network partition, rolling restart) and checks that every event
// ends as exactly one result or dead letter.
//
// It needs a Docker Engine but no registry: the images are built FROM
// scratch out of binaries compiled on the host. Run it with
//
//	go test -tags integration -count=1 -timeout 20m ./integration/...
//
// Without Docker the tests skip, unless CI is set, where they fail.
package integration
