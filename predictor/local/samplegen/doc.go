// Package samplegen draws the sample images bundled under testdata/samples
// at the repository root: flat shapes in known CSS colours, encoded as
// PNG, JPEG and GIF, for the demo and for trying the local-color model.
//
// The drawing is deterministic, so the files can be regenerated and
// checked: TestBundledSamplesUpToDate fails when they drift, and
//
//	go generate ./predictor/local/samplegen
//
// rewrites them.
package samplegen

//go:generate go test -run TestBundledSamplesUpToDate . -args -update
