package local

import (
	"errors"

	"github.com/imgpredict/worker/imageprep"
	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/schemas"
)

// Clarifai status codes the offline predictor answers with.
const (
	codeSuccess           = 10000
	codeDownloadFailed    = 30002
	codeUnsupportedFormat = 30101
	codeInvalidArgument   = 30104
	codeOverLimit         = 30105
)

// Sentinels under the classified errors, for errors.Is.
var (
	ErrTooLarge          = errors.New("image too large")
	ErrUnsupportedFormat = errors.New("unsupported image format")
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

// fetchError classifies a failed download; ctx's own error passes as is.
func fetchError(err error) error {
	fe, ok := errors.AsType[*imageprep.FetchError](err)
	switch {
	case !ok:
		return err
	case errors.Is(fe.Kind, imageprep.ErrTooLarge):
		return tooLargeError(fe.Detail)
	default:
		return inputError(codeDownloadFailed, schemas.ReasonInputDownloadFailed, fe.Detail, fe.Err)
	}
}

func tooLargeError(desc string) *predictor.Error {
	return inputError(codeOverLimit, schemas.ReasonImageTooLarge, desc, ErrTooLarge)
}

func unsupportedError(desc string, err error) *predictor.Error {
	return inputError(codeUnsupportedFormat, schemas.ReasonUnsupportedFormat, desc, err)
}
