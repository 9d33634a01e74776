// Package local is the offline predictor: the model local-color, which
// reports an image's dominant colours and where they are, in pure Go,
// with no model download and no account. It fills the same result shape
// as a Clarifai model, so the rest of the worker cannot tell them apart.
//
// # The model local-color
//
// Every prediction names the model user "local", app "local", id
// "local-color", version "1", whatever model the request asked for, with
// status 10000 "Ok" and a request id unique to the Predict call.
//
// For each image local-color:
//
//  1. decodes the first frame (JPEG, PNG, GIF or WebP, recognised by their
//     magic bytes; transparency is composited over white);
//  2. point-samples a grid of at most Config.SampleSize (64) pixels on the
//     long side, converts the samples to CIELAB and clusters them with
//     k-means (k = Config.Colors, 5; k-means++ seeding from a fixed seed,
//     so the same image always gives the same answer);
//  3. names each centroid with the nearest of the 147 CSS colour keywords
//     (CIE76 distance in CIELAB; of two aliases the alphabetically first
//     wins: aqua not cyan, fuchsia not magenta, gray not grey), merges
//     clusters that get the same name, and drops clusters covering under
//     Config.MinShare (2%) of the samples;
//  4. assigns every full-resolution pixel to its nearest cluster, which
//     gives each cluster's exact share of the pixels, its bounding box and
//     its mask.
//
// # Concepts
//
// One concept per colour: id "color-<name>" (e.g. "color-red"), name
// "<name>", value = the colour's share of the image's pixels. The colour
// values add up to 1. Besides them, global tags with id = name:
//
//   - "landscape", "portrait" or "square" (value 1): width/height above
//     1.05, below 1/1.05, or in between;
//   - "bright" (value = mean CIELAB lightness L*/100) when L* >= 60, or
//     "dark" (value = 1 - L*/100) when L* <= 35; neither in between;
//   - "monochrome" (value = share of grey samples, chroma < 10) when at
//     least 95% are grey, or "colorful" (value = share of vivid samples,
//     chroma >= 40 and L* >= 25) when at least 40% are vivid.
//
// All concepts are sorted by value, highest first (ties by id), so the
// certain aspect tag usually comes first.
//
// # Regions
//
// One region per colour, largest first: id "region-<name>", value = the
// share, one concept (the colour's), a bounding box normalised to the
// image (top_row = first row / height, bottom_row = (last row + 1) /
// height, likewise for columns) and a mask: a greyscale PNG, 255 on the
// colour and 0 elsewhere, of at most Config.MaskSize (128) pixels on the
// long side with the image's aspect ratio (the image's own size when
// smaller). Each mask pixel takes the colour of the image pixel at its
// centre. A colour need not be connected: the box and mask of "red"
// cover every red part of the image.
//
// # Colors
//
// As Clarifai's colour model does, one Color per colour, largest first:
// raw_hex is the colour's mean (the mean of its samples in CIELAB, back
// in sRGB, "#rrggbb"), the W3C colour is the CSS keyword it is named
// after (lower case, e.g. "firebrick", with that keyword's hex), and the
// value is its share of the pixels, as for its concept. The output config
// does not filter colours.
//
// # Output config
//
// As with Clarifai: select_concepts keeps only the concepts listed, by id
// or name; min_value drops concepts below it; max_concepts keeps the top
// ones. Regions are dropped when their value is under min_value or their
// colour is not selected; max_concepts does not limit regions.
//
// # Inputs and failures
//
// An input is its bytes or a URL that imageprep.Fetcher downloads (http and
// https only, redirects only to http(s) and at most FetchConfig.MaxRedirects,
// FetchConfig.Timeout for the whole download, 5xx, 429 and network
// errors retried FetchConfig.Retries times). Failures are
// *predictor.Error of class PermanentInput:
//
//   - input_download_failed (30002): the URL is refused, unreachable,
//     times out or answers with an error status, or it leads to a
//     non-public address while FetchConfig.AllowPrivate is off;
//   - image_too_large (30105): over FetchConfig.MaxBytes (20 MB) or
//     Config.MaxPixels (85 million) pixels;
//   - unsupported_format (30101): not JPEG, PNG, GIF or WebP, or corrupt;
//   - invalid_input (30104): neither or both of URL and bytes.
//
// A cancelled ctx is returned as ctx's error, not classified.
//
// # Limits
//
// local-color sees colours, not objects: a red car and a red wall are
// both "red". Colour names are those of CSS, so near-white JPEG areas may
// come out as "snow" or "whitesmoke". Dithered GIFs and noisy photos
// spread into neighbouring colours. Decoding and analysis run at most
// Config.Workers (GOMAXPROCS) at a time across all calls; a 640x480 JPEG
// takes about 5 ms of CPU, half of it JPEG decoding.
package local
