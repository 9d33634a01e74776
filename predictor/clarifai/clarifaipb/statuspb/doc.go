// Package statuspb holds Go code generated from the project's subset of
// Clarifai's clarifai.api.status package: Status and the StatusCode values
// the predictor acts on. See package clarifaipb for how it is generated.
package statuspb
