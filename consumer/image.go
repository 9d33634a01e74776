package consumer

import (
	"context"
	"errors"
	"fmt"

	"github.com/imgpredict/worker/imageprep"
	"github.com/imgpredict/worker/schemas"
)

// ImageConfig says how images are prepared before they are sent.
type ImageConfig struct {
	Orient    bool                  // WORKER_IMAGE_ORIENT: send photos upright (EXIF orientation)
	MaxSide   int                   // WORKER_IMAGE_MAX_SIDE: scale larger images down to this long side; 0 = off
	FetchURLs bool                  // WORKER_FETCH_URLS: download URL images and send their bytes
	Fetch     imageprep.FetchConfig // the download's guard (WORKER_FETCH_ALLOW_PRIVATE)
}

func (ic ImageConfig) options() imageprep.Options {
	return imageprep.Options{Orient: ic.Orient, MaxSide: ic.MaxSide}
}

// image prepares m's image: reads it from the Object Store, or downloads
// a URL image when FetchURLs; checks its format and size from its header
// (image_too_large, unsupported_format, without decoding); and, when it
// must be turned upright or scaled down, decodes it on the bounded pool,
// its pixels counted in the byte budget. It returns false with the fate
// of m's tasks when the image cannot be had. ctx ends when the worker
// stops pulling.
func (c *Consumer) image(ctx context.Context, m *message) (fate, bool) {
	img := &m.event.Image
	switch {
	case img.Object != nil:
		b, f := c.loadObject(ctx, m, img.Object)
		if f.kind != 0 {
			return f, false
		}
		img.Bytes = b
	case img.URL != "" && c.fetcher != nil:
		b, err := c.fetcher.Fetch(ctx, img.URL)
		if err == nil {
			err = c.ledger.grow(ctx, m, int64(len(b)))
		}
		if err != nil {
			return fetchFailed(err, m, &c.cfg, ctx.Err() != nil), false
		}
		img.Bytes = b
	}
	if len(img.Bytes) == 0 {
		return fate{}, true // a URL Clarifai fetches itself
	}
	h, err := imageprep.Inspect(img.Bytes)
	if err != nil {
		return imageFailed(err), false
	}
	opts := c.cfg.Image.options()
	need := h.DecodeBytes(opts)
	if need == 0 { // sent as it is: no decode, and no second reading of the header
		m.image = &schemas.ImageInfo{Width: h.Width, Height: h.Height}
		return fate{}, true
	}
	if err := c.ledger.grow(ctx, m, need); errors.Is(err, errOverBudget) {
		return dead(schemas.ReasonImageTooLarge, fmt.Sprintf("preparing the %dx%d image needs %d bytes, more than WORKER_MAX_PENDING_BYTES allows", h.Width, h.Height, need)), false
	} else if err != nil {
		return shutdown("shutting down while the image waited for memory"), false
	}
	select {
	case c.decodes <- struct{}{}:
	case <-ctx.Done():
		return shutdown("shutting down while the image waited for a decoder"), false
	}
	out, err := imageprep.Prepare(img.Bytes, opts)
	<-c.decodes
	c.ledger.shrink(m, need)
	if err != nil {
		return imageFailed(err), false
	}
	img.Bytes = out.Bytes
	m.image = &schemas.ImageInfo{Width: out.Width, Height: out.Height, Orientation: out.Orientation}
	if o := out.Original; o != nil {
		m.image.Original = &schemas.Size{Width: o.Width, Height: o.Height}
	}
	return fate{}, true
}

// imageFailed is the fate of an image whose header or pixels are unusable.
func imageFailed(err error) fate {
	if errors.Is(err, imageprep.ErrTooManyPixels) {
		return dead(schemas.ReasonImageTooLarge, err.Error())
	}
	return dead(schemas.ReasonUnsupportedFormat, err.Error())
}

// fetchFailed is the fate of a URL image the worker could not download:
// what the same failure in Clarifai's own download would give.
func fetchFailed(err error, m *message, cfg *Config, stopping bool) fate {
	switch {
	case stopping:
		return shutdown("shutting down during the download")
	case errors.Is(err, imageprep.ErrTooLarge):
		return fate{kind: deadLetter, reason: schemas.ReasonImageTooLarge, code: 30105, description: err.Error()}
	case errors.Is(err, imageprep.ErrDownloadFailed):
		return fate{kind: deadLetter, reason: schemas.ReasonInputDownloadFailed, code: 30002, description: err.Error()}
	}
	return decide(predictorOutcome(err), m.meta.NumDelivered, cfg, stopping)
}
