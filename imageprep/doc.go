// Package imageprep prepares images as people upload them before they are
// sent to a predictor: upright, no larger than needed, and bounded in
// memory whatever the bytes.
//
// # Inspect
//
// Inspect reads a header without decoding pixels: the format by its magic
// bytes (JPEG, PNG, GIF, BMP, TIFF, WebP: what Clarifai accepts), the
// stored width and height, and for JPEG the EXIF orientation (tag 0x0112
// of IFD0 in the first APP1 Exif segment; 1 when absent or invalid).
// Anything else, a header that cannot be read, or a JPEG cut short (no
// end-of-image marker after its first scan) is ErrUnsupportedFormat;
// more than 85 megapixels is ErrTooManyPixels, before any pixel memory is
// allocated. Header.DecodeBytes says how much memory Prepare will
// allocate for it, so that a caller can take it from a budget first.
//
// # Prepare
//
// Prepare returns an image that needs no change (orientation 1 or absent
// or Orient off, not longer than MaxSide) as it came: the same slice, not
// re-encoded. Otherwise it decodes the image and:
//
//   - turns it upright for each of the eight EXIF orientations (mirror,
//     180°, flip, transpose, 90° either way, transverse) when Orient is
//     set, or whenever it is re-encoded anyway for MaxSide, since the tag
//     does not survive re-encoding;
//   - scales it so its long side is MaxSide, keeping the aspect ratio:
//     k×k box averaging for whole reductions of 2 or more, then a
//     Catmull-Rom filter, in 8-bit fixed point on the decoded planes
//     (JPEG keeps its chroma subsampling throughout);
//   - encodes a JPEG at Quality (90) or, when the image has transparent
//     pixels, a PNG. GIF, BMP, TIFF and WebP without alpha become JPEG.
//
// Re-encoding drops EXIF (and with it the orientation tag, the camera
// data, GPS position and thumbnail), XMP, comments and every other
// metadata segment. A JPEG's ICC profile (APP2) is kept, so that the
// wide-gamut photos of recent phones keep their colours; profiles of the
// other formats, and of CMYK JPEGs (whose output is RGB), are dropped.
// Orientation is read from JPEG EXIF only: the decoders used do not expose
// TIFF's or WebP's, and HEIF is not an accepted format.
//
// Image says what was sent: its size (upright), the orientation that was
// corrected and the size before scaling, for the result to report.
//
// # Hostile input
//
// Prepare never panics: a malformed image, and a decoder that panics on
// it, are ErrUnsupportedFormat. The decoders are the standard library's
// and golang.org/x/image's, in pure Go (no cgo); FuzzPrepare checks that
// no input allocates more than DecodeBytes promised.
//
// # Speed
//
// BenchmarkPrepare times a 12-megapixel phone JPEG. image/jpeg's
// full-size decode is about three quarters of the time of turning and
// scaling it, so this path reaches a few images per second per core.
// libjpeg-turbo (cgo, DCT-scaled decoding) measured 2.5 to 3.5 times
// faster but would end the static, compiler-free build of the worker; no
// decoder reached 30 images per second per core on a 3.5 MB photo here,
// since even an eighth-size decode must read all its Huffman codes.
// Turning without scaling re-encodes the full image, which image/jpeg
// does at about 300 ms for 12 megapixels: pair Orient with MaxSide.
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
