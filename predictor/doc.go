// Package predictor turns groups of images into model predictions.
//
// predictor.go holds the contract the worker relies on (Request, Outcome,
// Error and its Class, the Predictor interface). Client implements it
// against Clarifai's PostModelOutputs gRPC call:
//
//   - A Request is split into calls of at most ClientConfig.MaxBatch (<= 128)
//     inputs; outputs are matched back to inputs by input id, never by
//     position, and every input gets exactly one Outcome.
//   - Every status code, in-band or gRPC, is classified by one table
//     (classify.go) into success, transient or permanent for the whole call,
//     or transient or permanent for one input, with a stable Reason word.
//   - Transient failures are retried with exponential backoff and jitter, a
//     fresh backoff per operation, bounded by RetryMaxElapsed and ctx. Only
//     the inputs that may still pass are resubmitted; a 30002 next to another
//     input's own failure is retried alone before it is believed.
//   - One rate limiter per Client holds all calls under the account's quota;
//     a throttling answer pauses every call and halves the rate, and clean
//     calls bring it back.
//
// Package clarifaipb holds the generated wire types, clarifaitest a fake
// Clarifai server for tests.
package predictor
