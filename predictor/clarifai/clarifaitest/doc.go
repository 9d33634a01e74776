// Package clarifaitest runs a fake Clarifai V2 server for tests, in the
// spirit of net/http/httptest: real gRPC on a loopback port, plaintext,
// answering PostModelOutputs with one output per input.
//
//	srv := clarifaitest.NewServer()
//	defer srv.Close()
//	// point a clarifai.Client at srv.Addr() with Insecure: true
//
// A test scripts it at any time, from any goroutine: latency per call,
// throttling or failing the next N calls, failing single inputs by id,
// shuffling output order, leaving input ids out of the outputs, the
// payload per model id (concepts, boxes, masks, polygons, keypoints,
// embeddings, colours), the outputs' created_at, and a required PAT.
// Every output has the id "<req_id>-out-<k>", k its place in the request.
// Requests returns a record of the calls received (the most recent
// MaxRecords), Calls and Inputs count all of them.
package clarifaitest
