package imageprep_test

import (
	"image"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/imageprep"
)

// budgetSlack is what Prepare may allocate beyond DecodeBytes: headers,
// error values, small tables.
const budgetSlack = 64 << 10

// requireWithinBudget runs Prepare and checks that everything it
// allocated, not only what it kept, fits in what DecodeBytes promised.
func requireWithinBudget(t testing.TB, data []byte, opts imageprep.Options) (imageprep.Image, error) {
	t.Helper()
	h, err := imageprep.Inspect(data)
	if err != nil {
		_, perr := imageprep.Prepare(data, opts)
		return imageprep.Image{}, perr
	}
	promised := h.DecodeBytes(opts)
	var img imageprep.Image
	used := allocated(func() { img, err = imageprep.Prepare(data, opts) })
	require.LessOrEqual(t, used, uint64(promised)+budgetSlack,
		"%s %dx%d %+v: allocated %d, promised %d", h.Format, h.Width, h.Height, opts, used, promised)
	t.Logf("%s %+v: used %.1f MB of %.1f MB", h.Format, opts, float64(used)/1e6, float64(promised)/1e6)
	return img, err
}

func TestDecodeBytesCoversPrepare(t *testing.T) {
	photo := noise(600, 450, 5)
	gray := image.NewGray(photo.Rect)
	for i := range gray.Pix {
		gray.Pix[i] = photo.Pix[4*i]
	}
	alpha := image.NewNRGBA(photo.Rect)
	copy(alpha.Pix, photo.Pix)
	for i := 3; i < len(alpha.Pix); i += 40 {
		alpha.Pix[i] = 10
	}
	inputs := map[string][]byte{
		"jpeg":      withOrientation(encode(t, photo, "jpeg"), 6),
		"jpeg gray": withOrientation(encode(t, gray, "jpeg"), 3),
		"png":       encode(t, photo, "png"),
		"png alpha": encode(t, alpha, "png"),
		"gif":       encode(t, photo, "gif"),
		"bmp":       encode(t, photo, "bmp"),
		"tiff":      encode(t, photo, "tiff"),
	}
	for name, data := range inputs {
		for _, opts := range []imageprep.Options{{Orient: true}, {Orient: true, MaxSide: 300}, {MaxSide: 500, Quality: 100}} {
			_, err := requireWithinBudget(t, data, opts)
			require.NoError(t, err, name)
		}
	}
}
