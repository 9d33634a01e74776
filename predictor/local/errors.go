package local

import (
	"errors"

	"github.com/imgpredict/worker/predictor"
)

// Clarifai status codes the offline predictor answers with.
const (
	codeSuccess           = 10000
	codeDownloadFailed    = 30002
	codeUnsupportedFormat = 30101
	codeInvalidArgument   = 30104
	codeOverLimit         = 30105
)

// Reasons, the stable words that dead letters carry.
const (
	ReasonDownloadFailed    = "input_download_failed"
	ReasonUnsupportedFormat = "unsupported_format"
	ReasonTooLarge          = "image_too_large"
	ReasonInvalidInput      = "invalid_input"
)

// Sentinels under the classified errors, for errors.Is.
var (
	ErrTooLarge          = errors.New("image too large")
	ErrUnsupportedFormat = errors.New("unsupported image format")
	ErrBadScheme         = errors.New("only http and https URLs are fetched")
	ErrTooManyRedirects  = errors.New("too many redirects")
	ErrPrivateAddress    = errors.New("address is not public")
)

func inputError(code uint32, reason, desc string, err error) *predictor.Error {
	return &predictor.Error{
		Class:       predictor.PermanentInput,
		Code:        code,
		Reason:      reason,
		Description: desc,
		Err:         err,
	}
}

func downloadError(desc string, err error) *predictor.Error {
	return inputError(codeDownloadFailed, ReasonDownloadFailed, desc, err)
}

func tooLargeError(desc string) *predictor.Error {
	return inputError(codeOverLimit, ReasonTooLarge, desc, ErrTooLarge)
}

func unsupportedError(desc string, err error) *predictor.Error {
	return inputError(codeUnsupportedFormat, ReasonUnsupportedFormat, desc, err)
}
