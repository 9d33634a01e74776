// Package predictor is the vocabulary every predictor and the consumer
// share: a Request of inputs for one model and output config, one Outcome
// per input (a Prediction or a classified Error), and the Class of a
// failure. It imports nothing of gRPC or of any one predictor.
//
// Implementations live beside it: predictor/clarifai calls Clarifai's
// PostModelOutputs over gRPC, predictor/local predicts offline. The
// interface they satisfy is declared where it is used, consumer.Predictor.
package predictor
