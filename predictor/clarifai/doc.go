// Package clarifai predicts with Clarifai's PostModelOutputs gRPC call.
//
// Client implements the consumer's Predictor:
//
//   - A predictor.Request is split into calls of at most
//     ClientConfig.MaxBatch (<= 128) inputs and MaxCallBytes (100 MiB) of
//     image bytes, Clarifai's limit being 128 MB a request; outputs are matched back to
//     inputs by input id, by position only for outputs that echo no id of
//     ours in a response in request order, and every input gets exactly
//     one predictor.Outcome.
//   - Every status code, in-band or gRPC, is classified by one table
//     (classify.go) into success, transient or permanent for the whole
//     call, transient or permanent for one input, or Account (the account
//     cannot call at all: key, scope, quota, billing), with a stable Reason.
//   - Transient failures are retried with exponential backoff and jitter,
//     a fresh backoff per operation, bounded by RetryMaxElapsed and ctx.
//     Account failures are never retried: the caller holds and probes.
//     Only the inputs that may still pass are resubmitted; a 30002 next to
//     another input's own failure is retried alone before it is believed.
//   - A Limiter (quota.Local by default) holds all calls under the
//     account's quota; a throttling answer pauses every call and lowers
//     the rate, and clean calls bring it back.
//
// clarifaipb holds the generated wire types, clarifaitest a fake Clarifai
// server for tests.
package clarifai
