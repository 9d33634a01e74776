package clarifai

import (
	"context"
	"errors"

	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/schemas"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sc "github.com/imgpredict/worker/predictor/clarifai/clarifaipb/statuspb"
)

// rule is one row of the classification table. A zero class means success.
type rule struct {
	class  predictor.Class
	reason string
}

// statusTable is THE mapping of Clarifai status codes to what they mean for
// the caller. Codes are written as ranges so that families of internal
// errors need one row. Codes absent here get unknownStatus.
var statusTable = []struct {
	from, to sc.StatusCode // inclusive; to == 0 means just from
	rule
}{
	{sc.StatusCode_SUCCESS, 0, rule{}},
	{sc.StatusCode_INPUT_SUCCESS, 0, rule{}},
	// MIXED_STATUS and FAILURE only reach the table when there are no
	// outputs to inspect: nothing was judged, so try again.
	{sc.StatusCode_MIXED_STATUS, 0, rule{predictor.Transient, schemas.ReasonServerError}},
	{sc.StatusCode_FAILURE, 0, rule{predictor.Transient, schemas.ReasonServerError}},
	{sc.StatusCode_TRY_AGAIN, 0, rule{predictor.Transient, schemas.ReasonServerError}},
	{sc.StatusCode_NOT_IMPLEMENTED, sc.StatusCode_MOVED, rule{predictor.Permanent, schemas.ReasonRequestInvalid}},

	// Account: the key, its scopes, the quota or the bill stop every call
	// whatever the model or input. 11007 could in theory be a scope only
	// one app lacks, and 11008 also means "key/application pair" for app
	// keys used on another app's model; the worker calls with a PAT, for
	// which both are about the key itself, so they hold everything too
	// (the probe tells when the key works again).
	{sc.StatusCode_CONN_ACCOUNT_ISSUES, 0, rule{predictor.Account, schemas.ReasonAccountIssue}},
	{sc.StatusCode_CONN_TOKEN_INVALID, sc.StatusCode_CONN_CREDENTIALS_INVALID, rule{predictor.Account, schemas.ReasonAuthFailed}},
	{sc.StatusCode_CONN_EXCEED_HOURLY_LIMIT, 0, rule{predictor.Transient, schemas.ReasonThrottled}},
	{sc.StatusCode_CONN_EXCEED_MONTHLY_LIMIT, 0, rule{predictor.Account, schemas.ReasonQuotaExceeded}},
	{sc.StatusCode_CONN_THROTTLED, 0, rule{predictor.Transient, schemas.ReasonThrottled}},
	{sc.StatusCode_CONN_EXCEEDS_LIMITS, 0, rule{predictor.Account, schemas.ReasonQuotaExceeded}},
	{sc.StatusCode_CONN_INSUFFICIENT_SCOPES, sc.StatusCode_CONN_KEY_NOT_FOUND, rule{predictor.Account, schemas.ReasonAuthFailed}},
	{sc.StatusCode_CONN_BAD_REQUEST_FORMAT, 0, rule{predictor.Permanent, schemas.ReasonRequestInvalid}},
	{sc.StatusCode_CONN_DOES_NOT_EXIST, 0, rule{predictor.Permanent, schemas.ReasonModelNotFound}},
	{sc.StatusCode_CONN_INVALID_REQUEST, sc.StatusCode_CONN_METHOD_NOT_ALLOWED, rule{predictor.Permanent, schemas.ReasonRequestInvalid}},
	// Consent to GDPR terms is given (or not) by the account's owner, for
	// every call: it was request_invalid, which dead-lettered the backlog.
	{sc.StatusCode_CONN_NO_GDPR_CONSENT, 0, rule{predictor.Account, schemas.ReasonAccountIssue}},
	{sc.StatusCode_CONN_INVALID_RANGE, 0, rule{predictor.Permanent, schemas.ReasonRequestInvalid}},
	// Key authentication switched off for the user or organisation.
	{sc.StatusCode_CONN_AUTH_METHOD_DISABLED, 0, rule{predictor.Account, schemas.ReasonAuthFailed}},

	{sc.StatusCode_MODEL_TRAINING, 0, rule{predictor.Transient, schemas.ReasonModelUnavailable}},
	{sc.StatusCode_MODEL_UNTRAINED, 0, rule{predictor.Permanent, schemas.ReasonModelNotFound}},
	{sc.StatusCode_MODEL_QUEUED_FOR_TRAINING, sc.StatusCode_MODEL_UPLOADING, rule{predictor.Transient, schemas.ReasonModelUnavailable}},
	{sc.StatusCode_MODEL_UPLOADING_FAILED, sc.StatusCode_MODEL_TRAINING_FAILED, rule{predictor.Permanent, schemas.ReasonModelFailed}},
	{sc.StatusCode_MODEL_BUILDING, 0, rule{predictor.Transient, schemas.ReasonModelUnavailable}},
	{sc.StatusCode_MODEL_BUILDING_FAILED, sc.StatusCode_MODEL_BUILD_UNEXPECTED_ERROR, rule{predictor.Permanent, schemas.ReasonModelFailed}},
	{sc.StatusCode_MODEL_DOES_NOT_EXIST, 0, rule{predictor.Permanent, schemas.ReasonModelNotFound}},
	// The key works, but not for this model (or, below, this runner): other
	// models still pass, so only the events that ask for it fail.
	{sc.StatusCode_MODEL_PERMISSION_DENIED, 0, rule{predictor.Permanent, schemas.ReasonAuthFailed}},
	{sc.StatusCode_MODEL_INVALID_ARGUMENT, sc.StatusCode_MODEL_INVALID_REQUEST, rule{predictor.Permanent, schemas.ReasonRequestInvalid}},
	{sc.StatusCode_MODEL_PREDICTION_FAILED, 0, rule{predictor.Transient, schemas.ReasonPredictionFailed}},
	{sc.StatusCode_MODEL_DEPLOYMENT_FAILED, 0, rule{predictor.Permanent, schemas.ReasonModelFailed}},
	{sc.StatusCode_MODEL_DEPLOYING, sc.StatusCode_MODEL_LOADING, rule{predictor.Transient, schemas.ReasonModelUnavailable}},
	{sc.StatusCode_MODEL_REFERENCE_INVALID_ARGUMENT, 0, rule{predictor.Permanent, schemas.ReasonModelNotFound}},

	{sc.StatusCode_RUNNER_DOES_NOT_EXIST, 0, rule{predictor.Permanent, schemas.ReasonModelNotFound}},
	{sc.StatusCode_RUNNER_PERMISSION_DENIED, 0, rule{predictor.Permanent, schemas.ReasonAuthFailed}},
	{sc.StatusCode_RUNNER_INVALID_ARGUMENT, sc.StatusCode_RUNNER_INVALID_REQUEST, rule{predictor.Permanent, schemas.ReasonRequestInvalid}},
	{sc.StatusCode_RUNNER_NEEDS_RETRY, sc.StatusCode_RUNNER_ITEM_CANCELLED, rule{predictor.Transient, schemas.ReasonServerError}},
	{sc.StatusCode_RUNNER_PROCESSING_FAILED, 0, rule{predictor.Transient, schemas.ReasonPredictionFailed}},
	{sc.StatusCode_NODEPOOL_DOES_NOT_EXIST, 0, rule{predictor.Permanent, schemas.ReasonModelNotFound}},
	{sc.StatusCode_NODEPOOL_DOES_NOT_EXIST + 1, sc.StatusCode_NODEPOOL_DOES_NOT_EXIST + 2, rule{predictor.Permanent, schemas.ReasonRequestInvalid}},
	{sc.StatusCode_COMPUTE_CLUSTER_DOES_NOT_EXIST, 0, rule{predictor.Permanent, schemas.ReasonModelNotFound}},
	{sc.StatusCode_COMPUTE_CLUSTER_DOES_NOT_EXIST + 1, sc.StatusCode_COMPUTE_CLUSTER_DOES_NOT_EXIST + 2, rule{predictor.Permanent, schemas.ReasonRequestInvalid}},
	{sc.StatusCode_DEPLOYMENT_DOES_NOT_EXIST, 0, rule{predictor.Permanent, schemas.ReasonModelNotFound}},
	{sc.StatusCode_DEPLOYMENT_DOES_NOT_EXIST + 1, sc.StatusCode_DEPLOYMENT_DOES_NOT_EXIST + 2, rule{predictor.Permanent, schemas.ReasonRequestInvalid}},
	{sc.StatusCode_DEPLOYMENT_DISABLED, 0, rule{predictor.Permanent, schemas.ReasonModelNotFound}},

	// 30002 is also what a good input gets when another input of the same
	// call failed; predict.go retries such an input alone before trusting it.
	{sc.StatusCode_INPUT_DOWNLOAD_FAILED, 0, rule{predictor.PermanentInput, schemas.ReasonInputDownloadFailed}},
	{sc.StatusCode_INPUT_STATUS_UPDATE_FAILED, 0, rule{predictor.TransientInput, schemas.ReasonServerError}},
	{sc.StatusCode_INPUT_DUPLICATE, 0, rule{predictor.PermanentInput, schemas.ReasonInvalidInput}},
	{sc.StatusCode_INPUT_UNSUPPORTED_FORMAT, 0, rule{predictor.PermanentInput, schemas.ReasonUnsupportedFormat}},
	{sc.StatusCode_INPUT_DOES_NOT_EXIST, sc.StatusCode_INPUT_INVALID_ARGUMENT, rule{predictor.PermanentInput, schemas.ReasonInvalidInput}},
	{sc.StatusCode_INPUT_OVER_LIMIT, 0, rule{predictor.PermanentInput, schemas.ReasonImageTooLarge}},
	{sc.StatusCode_INPUT_INVALID_URL, 0, rule{predictor.PermanentInput, schemas.ReasonInvalidInput}},
	{sc.StatusCode_INPUT_STORAGE_HOST_FAILED, 0, rule{predictor.TransientInput, schemas.ReasonServerError}},
	{sc.StatusCode_ALL_INPUT_INVALID_BYTES, 0, rule{predictor.PermanentInput, schemas.ReasonInvalidInput}},
	{sc.StatusCode_INPUT_CONNECTION_FAILED, sc.StatusCode_INPUT_WRITES_DISABLED_FOR_MAINTENANCE, rule{predictor.Transient, schemas.ReasonServerError}},
	{sc.StatusCode_INPUT_INVALID_REQUEST, 0, rule{predictor.Permanent, schemas.ReasonRequestInvalid}},

	{sc.StatusCode_PREDICT_INVALID_REQUEST, sc.StatusCode_DATABASE_DUPLICATE_KEY, rule{predictor.Permanent, schemas.ReasonRequestInvalid}},
	{sc.StatusCode_DATABASE_STATEMENT_TIMEOUT, sc.StatusCode_DATABASE_TOO_MANY_CLIENTS, rule{predictor.Transient, schemas.ReasonServerError}},
	{sc.StatusCode_DATABASE_CONSTRAINT_VIOLATED, 0, rule{predictor.Permanent, schemas.ReasonRequestInvalid}},
	{sc.StatusCode_ASYNC_WORKER_MULTI_ERRORS, sc.StatusCode_DATABASE_CANCELED, rule{predictor.Transient, schemas.ReasonServerError}},
	{sc.StatusCode_RPC_REQUEST_QUEUE_FULL, 0, rule{predictor.Transient, schemas.ReasonThrottled}},
	{sc.StatusCode_RPC_SERVER_UNAVAILABLE, sc.StatusCode_RPC_REQUEST_TIMEOUT, rule{predictor.Transient, schemas.ReasonServerError}},
	{sc.StatusCode_RPC_MAX_MESSAGE_SIZE_EXCEEDED, 0, rule{predictor.Permanent, schemas.ReasonMessageTooLarge}},
	{sc.StatusCode_EXTERNAL_CONNECTION_ERROR, sc.StatusCode_RPC_CANCELED, rule{predictor.Transient, schemas.ReasonServerError}},
	{sc.StatusCode_RPC_UNKNOWN_METHOD, 0, rule{predictor.Permanent, schemas.ReasonRequestInvalid}},
	{sc.StatusCode_REQUEST_CANCELED_BY_USER, 0, rule{predictor.Transient, schemas.ReasonServerError}},
	{sc.StatusCode_QUERY_INVALID_SYNTAX, 0, rule{predictor.Permanent, schemas.ReasonRequestInvalid}},
	{41000, 41102, rule{predictor.Transient, schemas.ReasonServerError}}, // internal queue errors
	{sc.StatusCode_CLUSTER_INTERNAL_FAILURE, 0, rule{predictor.Transient, schemas.ReasonServerError}},
	{sc.StatusCode_REDIS_STREAM_BACKOFF, 0, rule{predictor.Transient, schemas.ReasonServerError}},
	{sc.StatusCode_FILETYPE_UNSUPPORTED, 0, rule{predictor.PermanentInput, schemas.ReasonUnsupportedFormat}},
	{sc.StatusCode_MP_DOWNLOAD_ERROR, sc.StatusCode_MP_RESOLVE_DNS_ERROR, rule{predictor.PermanentInput, schemas.ReasonInputDownloadFailed}},
	{sc.StatusCode_MP_DOWNLOAD_MAX_SIZE_EXCEEDED_ERROR, 0, rule{predictor.PermanentInput, schemas.ReasonImageTooLarge}},
	{sc.StatusCode_MP_IMAGE_DECODE_ERROR, 0, rule{predictor.PermanentInput, schemas.ReasonUnsupportedFormat}},
	{sc.StatusCode_MP_INVALID_ARGUMENT, sc.StatusCode_MP_IMAGE_PROCESSING_ERROR, rule{predictor.PermanentInput, schemas.ReasonInvalidInput}},
	{sc.StatusCode_DATATIER_CONN_ERROR, 0, rule{predictor.Transient, schemas.ReasonServerError}},

	// Face consent and feature flags concern what one model or request
	// does, not whether the account can call: they stay per request.
	{sc.StatusCode_USER_CONSENT_FACE, 0, rule{predictor.Permanent, schemas.ReasonRequestInvalid}},
	{sc.StatusCode_LICENSE_VOLUME_EXCEEDED, 0, rule{predictor.Account, schemas.ReasonQuotaExceeded}},
	{sc.StatusCode_FEATUREFLAG_BLOCKED, 0, rule{predictor.Permanent, schemas.ReasonRequestInvalid}},
	{sc.StatusCode_BILLING_INVALID_INFO, sc.StatusCode_BILLING_MISSING_TOKENS, rule{predictor.Account, schemas.ReasonAccountIssue}},
	{sc.StatusCode_BAD_REQUEST, 0, rule{predictor.Permanent, schemas.ReasonRequestInvalid}},
	{sc.StatusCode_SERVER_ERROR, 0, rule{predictor.Transient, schemas.ReasonServerError}},
	{sc.StatusCode_INTERNAL_SERVER_ISSUE, 98021, rule{predictor.Transient, schemas.ReasonServerError}},
	{sc.StatusCode_CONN_UNCATEGORIZED, 0, rule{predictor.Permanent, schemas.ReasonRequestInvalid}},
	{sc.StatusCode_MODEL_UNCATEGORIZED, 0, rule{predictor.Transient, schemas.ReasonServerError}},
	{sc.StatusCode_INPUT_UNCATEGORIZED, 0, rule{predictor.PermanentInput, schemas.ReasonInvalidInput}},
	{sc.StatusCode_BILLING_UNCATEGORIZED, 0, rule{predictor.Account, schemas.ReasonAccountIssue}},
	{sc.StatusCode_INTERNAL_UNCATEGORIZED, 0, rule{predictor.Transient, schemas.ReasonServerError}},
}

// unknownStatus is the safe default for a code this project has never seen:
// retry a bounded number of times; the worker's delivery limit does the rest.
var unknownStatus = rule{predictor.Transient, schemas.ReasonUnknownStatus}

// grpcTable maps transport-level failures. Clarifai reports application
// errors in-band, so these are about the connection and the local library.
var grpcTable = map[codes.Code]rule{
	codes.Unavailable:      {predictor.Transient, schemas.ReasonTransportError},
	codes.DeadlineExceeded: {predictor.Transient, schemas.ReasonTransportError},
	codes.Canceled:         {predictor.Transient, schemas.ReasonTransportError},
	codes.Aborted:          {predictor.Transient, schemas.ReasonTransportError},
	codes.Internal:         {predictor.Transient, schemas.ReasonTransportError},
	codes.Unknown:          {predictor.Transient, schemas.ReasonTransportError},
	// Raised by grpc-go when a message exceeds the size limit: this batch
	// can never pass, a smaller one may (predict.go splits it).
	codes.ResourceExhausted: {predictor.Permanent, schemas.ReasonMessageTooLarge},
	// Clarifai reports auth in-band; a proxy or gateway in front of it
	// that refuses the key says so here, for every call alike.
	codes.Unauthenticated:    {predictor.Account, schemas.ReasonAuthFailed},
	codes.PermissionDenied:   {predictor.Account, schemas.ReasonAuthFailed},
	codes.InvalidArgument:    {predictor.Permanent, schemas.ReasonRequestInvalid},
	codes.NotFound:           {predictor.Permanent, schemas.ReasonRequestInvalid},
	codes.Unimplemented:      {predictor.Permanent, schemas.ReasonRequestInvalid},
	codes.FailedPrecondition: {predictor.Permanent, schemas.ReasonRequestInvalid},
}

var statusRules = func() map[uint32]rule {
	m := make(map[uint32]rule, len(statusTable)*2)
	for _, row := range statusTable {
		to := row.to
		if to == 0 {
			to = row.from
		}
		for c := row.from; c <= to; c++ {
			if _, dup := m[uint32(c)]; dup {
				panic("classify: status code in two rows: " + c.String())
			}
			m[uint32(c)] = row.rule
		}
	}
	return m
}()

// classifyStatus says what a Clarifai status code means for the whole call.
func classifyStatus(code uint32) rule {
	if code == uint32(sc.StatusCode_SUCCESS) {
		return rule{} // nearly every output: spare the map lookup
	}
	if r, ok := statusRules[code]; ok {
		return r
	}
	return unknownStatus
}

// classifyOutput says what an output's own status code means for its input:
// a passing failure of the call becomes a passing failure of the input.
func classifyOutput(code uint32) rule {
	r := classifyStatus(code)
	if r.class == predictor.Transient {
		r.class = predictor.TransientInput
	}
	return r
}

// classifyGRPC says what an RPC error means; ctx errors are not classified
// here because the caller's own cancellation is not the server's verdict.
func classifyGRPC(err error) rule {
	if errors.Is(err, context.DeadlineExceeded) {
		return grpcTable[codes.DeadlineExceeded]
	}
	if r, ok := grpcTable[status.Code(err)]; ok {
		return r
	}
	return rule{predictor.Transient, schemas.ReasonTransportError}
}
