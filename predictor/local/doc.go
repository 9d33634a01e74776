// Package local is the offline predictor: the model local-color, which
// reports an image's dominant colours and where they are, in pure Go,
// without a model download or an account.
package local
