package imageprep_test

import (
	"bytes"
	"errors"
	"image"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/imageprep"
)

// FuzzPrepare: whatever the bytes, Prepare does not panic, allocates no
// more than DecodeBytes promised, and returns either a sentinel error or
// an image, which decodes to the size it reports when re-encoded.
func FuzzPrepare(f *testing.F) {
	photo := noise(40, 24, 9)
	jpg := encode(f, photo, "jpeg")
	seeds := [][]byte{
		withOrientation(jpg, 6),
		withOrientation(encode(f, quadrants(32, 16), "jpeg"), 7),
		jpg[:len(jpg)/2],
		withOrientation(jpg, 6)[:300],
		encode(f, photo, "png"),
		encode(f, photo, "gif"),
		encode(f, photo, "bmp"),
		encode(f, photo, "tiff"),
		lossyWebPHeader(40, 24),
		forgedJPEG(60000, 60000),
		forgedJPEG(300, 200),
		pngHeader(f, 5000, 5000),
		[]byte("abc"),
	}
	for i, s := range seeds {
		f.Add(s, true, uint16(i*7%40))
	}
	f.Fuzz(func(t *testing.T, data []byte, orient bool, maxSide uint16) {
		opts := imageprep.Options{Orient: orient, MaxSide: int(maxSide % 64), MaxPixels: 1 << 20}
		var promised int64
		if h, err := imageprep.Inspect(data); err == nil {
			promised = h.DecodeBytes(opts)
		}
		var img imageprep.Image
		var err error
		used := allocated(func() { img, err = imageprep.Prepare(data, opts) })
		if err != nil {
			require.True(t, errors.Is(err, imageprep.ErrUnsupportedFormat) || errors.Is(err, imageprep.ErrTooManyPixels), "%v", err)
			require.LessOrEqual(t, used, uint64(promised)+budgetSlack, "allocated %d, promised %d", used, promised)
			return
		}
		require.LessOrEqual(t, used, uint64(promised)+budgetSlack, "allocated %d, promised %d", used, promised)
		if len(data) > 0 && &img.Bytes[0] == &data[0] {
			return // unchanged: passed on undecoded
		}
		m, _, err := image.Decode(bytes.NewReader(img.Bytes))
		require.NoError(t, err)
		require.Equal(t, image.Rect(0, 0, img.Width, img.Height), m.Bounds())
	})
}
