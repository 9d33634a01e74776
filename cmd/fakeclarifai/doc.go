// Command fakeclarifai serves the fake Clarifai server of
// predictor/clarifai/clarifaitest on a TCP address, so that workers in containers
// can call it. It speaks plaintext gRPC (point workers at it with
// CLARIFAI_INSECURE=true).
//
//	fakeclarifai [--listen :50051] [--latency 20ms] [--pat test-pat]
//
// Every flag is also an env variable: FAKE_CLARIFAI_LISTEN, _LATENCY, _PAT.
package main
