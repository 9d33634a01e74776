// Package embedded runs an in-process NATS server with JetStream, so the
// worker, emit and tail can be tried without installing a broker.
//
// The server listens on a real TCP address (127.0.0.1:4222 by default), so
// other processes can publish and subscribe, and keeps its streams on disk
// under Config.DataDir, so a restart keeps file-stored messages.
package embedded
