// Package imageprep prepares images as people upload them before they are
// sent to a predictor.
//
// # Fetching URLs
//
// Fetcher downloads an image URL under a guard shared by the worker and
// the offline predictor: http and https only, redirects only to http(s)
// and at most FetchConfig.MaxRedirects, no connection to a loopback,
// private, link-local, shared (100.64.0.0/10) or unspecified address
// (checked on the address dialled, after DNS and on every redirect)
// unless FetchConfig.AllowPrivate, a body of at most FetchConfig.MaxBytes
// (20 MB), FetchConfig.Timeout for the whole download, and 5xx, 429 and
// network errors retried FetchConfig.Retries times. A failure is a
// *FetchError that errors.Is matches to ErrDownloadFailed (with
// ErrBadScheme, ErrTooManyRedirects or ErrPrivateAddress when one of
// those is why) or to ErrTooLarge; a cancelled ctx is returned as is.
package imageprep
