package imageprep

import "errors"

// Sentinels for errors.Is. Errors carry detail around them (%w).
var (
	// ErrUnsupportedFormat: the magic bytes are not those of JPEG, PNG,
	// GIF, BMP, TIFF or WebP, or the header or data cannot be decoded.
	ErrUnsupportedFormat = errors.New("unsupported image format")
	// ErrTooManyPixels: the header declares more pixels than allowed.
	ErrTooManyPixels = errors.New("too many pixels")

	// ErrDownloadFailed: a URL could not be fetched (refused, unreachable,
	// timed out, an error status, a redirect or address not allowed).
	ErrDownloadFailed = errors.New("download failed")
	// ErrTooLarge: a download is larger than FetchConfig.MaxBytes.
	ErrTooLarge = errors.New("image too large")
	// ErrBadScheme, ErrTooManyRedirects and ErrPrivateAddress say why a
	// download failed; they come with ErrDownloadFailed.
	ErrBadScheme        = errors.New("only http and https URLs are fetched")
	ErrTooManyRedirects = errors.New("too many redirects")
	ErrPrivateAddress   = errors.New("address is not public")

	// ErrInvalidConfig is wrapped by every configuration error.
	ErrInvalidConfig = errors.New("imageprep: invalid config")
)

// FetchError is a download that failed for a reason in the input (the
// URL, where it leads, or what it answers), so trying it again later
// will not help. Kind is ErrDownloadFailed or ErrTooLarge; errors.Is
// matches Kind and Err.
type FetchError struct {
	Kind   error
	Detail string // what failed, for humans
	Err    error  // the cause, if any
}

func (e *FetchError) Error() string {
	msg := e.Kind.Error() + ": " + e.Detail
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *FetchError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

func downloadError(detail string, err error) *FetchError {
	return &FetchError{Kind: ErrDownloadFailed, Detail: detail, Err: err}
}

func tooLargeError(detail string) *FetchError {
	return &FetchError{Kind: ErrTooLarge, Detail: detail}
}
