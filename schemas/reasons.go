package schemas

import "slices"

// The reason words of dead letters (error.reason), defined here and only
// here. They are stable: dead letters, metric labels and downstream
// switches use them, so a word is never renamed or reused for another
// meaning; new words may be added within a schema version.

// Reasons DecodeEvent gives for rejecting an event.
const (
	// ReasonInvalidJSON: not JSON, not an object, or image not an object.
	ReasonInvalidJSON = "invalid_json"
	// ReasonMissingID: id absent, null or empty.
	ReasonMissingID = "missing_id"
	// ReasonInvalidID: id not a string, or longer than MaxIDLength characters.
	ReasonInvalidID = "invalid_id"
	// ReasonMissingImage: image absent or null, or none of its sources given.
	ReasonMissingImage = "missing_image"
	// ReasonMultipleImages: more than one of url, base64 and object given.
	ReasonMultipleImages = "multiple_images"
	// ReasonInvalidURL: url not a string, unparsable, not http(s), or without a host.
	ReasonInvalidURL = "invalid_url"
	// ReasonInvalidBase64: base64 not a string, empty, or not standard base64.
	ReasonInvalidBase64 = "invalid_base64"
	// ReasonImageTooLarge: the image has more than MaxImageBytes bytes
	// (also given by predictors for an image over Clarifai's limits).
	ReasonImageTooLarge = "image_too_large"
	// ReasonInvalidObjectRef: object not an object, or bucket or name empty or malformed.
	ReasonInvalidObjectRef = "invalid_object_ref"
	// ReasonInvalidModel: model not an object, or a field of it not a string.
	ReasonInvalidModel = "invalid_model"
	// ReasonInvalidOutputConfig: output_config not an object, or a field out of range.
	ReasonInvalidOutputConfig = "invalid_output_config"
	// ReasonInvalidMetadata: metadata present and not a JSON object.
	ReasonInvalidMetadata = "invalid_metadata"
	// ReasonUnsupportedSchemaVersion: schema_version given and not Version.
	ReasonUnsupportedSchemaVersion = "unsupported_schema_version"
)

// Reasons the worker gives for what happens around a prediction.
const (
	// ReasonObjectNotFound: the Object Store entry named by image.object does not exist.
	ReasonObjectNotFound = "object_not_found"
	// ReasonMaxDeliveries: a transient failure outlasted the last delivery
	// allowed; the description holds the last error.
	ReasonMaxDeliveries = "max_deliveries"
	// ReasonMessageTooLarge: a message is over a size limit: the input
	// message for the worker, or the predict call for this input alone
	// for Clarifai or gRPC (also given by predictors).
	ReasonMessageTooLarge = "message_too_large"
	// ReasonResultTooLarge: the result does not fit the server's
	// max_payload even with its masks moved to the Object Store.
	ReasonResultTooLarge = "result_too_large"
	// ReasonPredictFailed: the predictor failed in a way it did not classify.
	ReasonPredictFailed = "predict_failed"
	// ReasonDuplicateInputID: two inputs of one call had the same input
	// id, so their outputs could not be told apart.
	ReasonDuplicateInputID = "duplicate_input_id"
)

// Reasons predictors give, mostly from Clarifai's status codes.
const (
	// ReasonModelNotFound: the model, its version, app, runner, nodepool
	// or deployment does not exist, or the model is untrained.
	ReasonModelNotFound = "model_not_found"
	// ReasonModelFailed: the model failed to upload, train, build or deploy.
	ReasonModelFailed = "model_failed"
	// ReasonModelUnavailable: the model is training, deploying or loading
	// (retried until max_deliveries).
	ReasonModelUnavailable = "model_unavailable"
	// ReasonPredictionFailed: the model raised an error on this input.
	ReasonPredictionFailed = "prediction_failed"
	// ReasonInputDownloadFailed: the image URL could not be downloaded.
	ReasonInputDownloadFailed = "input_download_failed"
	// ReasonUnsupportedFormat: the image is in no format the model accepts, or does not decode.
	ReasonUnsupportedFormat = "unsupported_format"
	// ReasonInvalidInput: Clarifai refused this input (invalid argument or
	// URL, duplicate, bytes that are no image).
	ReasonInvalidInput = "invalid_input"
	// ReasonAuthFailed: the key is invalid, lacks a scope, or may not use the model.
	ReasonAuthFailed = "auth_failed"
	// ReasonQuotaExceeded: the account's monthly or other limits are used up.
	ReasonQuotaExceeded = "quota_exceeded"
	// ReasonAccountIssue: a billing or plan problem on the Clarifai account.
	ReasonAccountIssue = "account_issue"
	// ReasonThrottled: Clarifai rate-limited the call (retried).
	ReasonThrottled = "throttled"
	// ReasonServerError: a transient error inside Clarifai (retried).
	ReasonServerError = "server_error"
	// ReasonTransportError: the gRPC call failed on the way, e.g.
	// unavailable or past its deadline (retried).
	ReasonTransportError = "transport_error"
	// ReasonRequestInvalid: Clarifai refused the request itself as
	// malformed; a bug or a bad configuration, not a bad input.
	ReasonRequestInvalid = "request_invalid"
	// ReasonOutputMissing: Clarifai's reply had no output for this input.
	ReasonOutputMissing = "output_missing"
	// ReasonOutputDuplicate: Clarifai's reply had several outputs for this input.
	ReasonOutputDuplicate = "output_duplicate"
	// ReasonUnknownStatus: a Clarifai status code the worker does not know.
	ReasonUnknownStatus = "unknown_status"
)

// InvalidEventReasons lists every reason DecodeEvent can give, for
// example to initialise metric labels.
func InvalidEventReasons() []string {
	return []string{
		ReasonInvalidJSON, ReasonMissingID, ReasonInvalidID, ReasonMissingImage,
		ReasonMultipleImages, ReasonInvalidURL, ReasonInvalidBase64, ReasonImageTooLarge,
		ReasonInvalidObjectRef, ReasonInvalidModel, ReasonInvalidOutputConfig,
		ReasonInvalidMetadata, ReasonUnsupportedSchemaVersion,
	}
}

// Reasons lists every reason word a dead letter can carry, sorted and
// each once.
func Reasons() []string {
	all := append(InvalidEventReasons(),
		ReasonObjectNotFound, ReasonMaxDeliveries, ReasonMessageTooLarge,
		ReasonResultTooLarge, ReasonPredictFailed, ReasonDuplicateInputID,

		ReasonModelNotFound, ReasonModelFailed, ReasonModelUnavailable,
		ReasonPredictionFailed, ReasonInputDownloadFailed, ReasonUnsupportedFormat,
		ReasonImageTooLarge, ReasonInvalidInput, ReasonAuthFailed, ReasonQuotaExceeded,
		ReasonAccountIssue, ReasonThrottled, ReasonServerError, ReasonTransportError,
		ReasonMessageTooLarge, ReasonRequestInvalid, ReasonOutputMissing,
		ReasonOutputDuplicate, ReasonUnknownStatus,
	)
	slices.Sort(all)
	return slices.Compact(all)
}
