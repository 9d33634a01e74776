package imageprep_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/imageprep"
)

func TestPrepareTurnsOrientation6Upright(t *testing.T) {
	data := withOrientation(encode(t, quadrants(64, 32), "jpeg"), 6)
	h, err := imageprep.Inspect(data)
	require.NoError(t, err)
	require.Equal(t, imageprep.Header{Format: "jpeg", Width: 64, Height: 32, Orientation: 6}, publicHeader(h))

	img, err := imageprep.Prepare(data, imageprep.Options{Orient: true})
	require.NoError(t, err)
	require.Equal(t, 32, img.Width)
	require.Equal(t, 64, img.Height)
	require.Equal(t, 6, img.Orientation)
	require.Nil(t, img.Original)
	require.Equal(t, "jpeg", img.Format)
	require.Equal(t, image.Rect(0, 0, 32, 64), decode(t, img.Bytes).Bounds())

	again, err := imageprep.Inspect(img.Bytes)
	require.NoError(t, err)
	require.Equal(t, 1, again.Orientation, "the orientation tag is gone")
	require.NotContains(t, string(img.Bytes), "Exif\x00\x00")
}

// publicHeader drops the unexported fields, for comparing.
func publicHeader(h imageprep.Header) imageprep.Header {
	return imageprep.Header{Format: h.Format, Width: h.Width, Height: h.Height, Orientation: h.Orientation}
}

// Each orientation is checked against the EXIF definition of where the
// stored row 0 and column 0 belong, not against the code's own mapping.
// Stored: red green / blue white.
func TestPrepareOrientsEveryOrientation(t *testing.T) {
	r, g, b, w := red, green, blue, white
	upright := map[int][4]color.RGBA{ // top-left, top-right, bottom-left, bottom-right
		2: {g, r, w, b}, // row 0 at the top, column 0 on the right
		3: {w, b, g, r}, // row 0 at the bottom, column 0 on the right
		4: {b, w, r, g}, // row 0 at the bottom, column 0 on the left
		5: {r, b, g, w}, // row 0 on the left, column 0 at the top
		6: {b, r, w, g}, // row 0 on the right, column 0 at the top
		7: {w, g, b, r}, // row 0 on the right, column 0 at the bottom
		8: {g, w, r, b}, // row 0 on the left, column 0 at the bottom
	}
	for o, want := range upright {
		t.Run(fmt.Sprint(o), func(t *testing.T) {
			data := withOrientation(encode(t, quadrants(64, 32), "jpeg"), o)
			img, err := imageprep.Prepare(data, imageprep.Options{Orient: true})
			require.NoError(t, err)
			require.Equal(t, o, img.Orientation)
			m := decode(t, img.Bytes)
			wd, ht := 64, 32
			if o >= 5 {
				wd, ht = 32, 64
			}
			require.Equal(t, image.Rect(0, 0, wd, ht), m.Bounds())
			got := [4]color.Color{
				m.At(wd/4, ht/4), m.At(3*wd/4, ht/4),
				m.At(wd/4, 3*ht/4), m.At(3*wd/4, 3*ht/4),
			}
			for i := range got {
				require.True(t, near(got[i], want[i], 24), "quadrant %d: got %v, want %v", i, got[i], want[i])
			}
		})
	}
}

func TestPrepareReturnsUnchangedImagesAsIs(t *testing.T) {
	plain := encode(t, noise(60, 30, 1), "jpeg")
	tests := map[string]struct {
		data []byte
		opts imageprep.Options
	}{
		"jpeg without exif":           {plain, imageprep.Options{Orient: true, MaxSide: 60}},
		"jpeg with orientation 1":     {withOrientation(plain, 1), imageprep.Options{Orient: true}},
		"orientation 6 not corrected": {withOrientation(plain, 6), imageprep.Options{}},
		"png":                         {encode(t, noise(60, 30, 2), "png"), imageprep.Options{Orient: true, MaxSide: 100}},
		"gif":                         {encode(t, quadrants(60, 30), "gif"), imageprep.Options{Orient: true}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			h, err := imageprep.Inspect(tt.data)
			require.NoError(t, err)
			require.Zero(t, h.DecodeBytes(tt.opts))
			img, err := imageprep.Prepare(tt.data, tt.opts)
			require.NoError(t, err)
			require.Equal(t, tt.data, img.Bytes)
			require.Same(t, &tt.data[0], &img.Bytes[0], "not even copied")
			require.Equal(t, 60, img.Width)
			require.Equal(t, 30, img.Height)
			require.Zero(t, img.Orientation)
			require.Nil(t, img.Original)
		})
	}
}

func TestPrepareScalesDownToMaxSide(t *testing.T) {
	data := encode(t, quadrants(64, 32), "jpeg")
	img, err := imageprep.Prepare(data, imageprep.Options{Orient: true, MaxSide: 32})
	require.NoError(t, err)
	require.Equal(t, 32, img.Width)
	require.Equal(t, 16, img.Height)
	require.Equal(t, &imageprep.Size{Width: 64, Height: 32}, img.Original)
	require.Zero(t, img.Orientation)
	m := decode(t, img.Bytes)
	require.Equal(t, image.Rect(0, 0, 32, 16), m.Bounds())
	require.True(t, near(m.At(8, 4), red, 24), "top left stays red: %v", m.At(8, 4))
	require.True(t, near(m.At(24, 12), white, 24), "bottom right stays white: %v", m.At(24, 12))
}

// Scaling re-encodes, which drops the tag, so it turns the image upright
// even without Orient; Original is upright too.
func TestPrepareScalingOrients(t *testing.T) {
	data := withOrientation(encode(t, quadrants(64, 32), "jpeg"), 6)
	img, err := imageprep.Prepare(data, imageprep.Options{MaxSide: 32})
	require.NoError(t, err)
	require.Equal(t, 16, img.Width)
	require.Equal(t, 32, img.Height)
	require.Equal(t, 6, img.Orientation)
	require.Equal(t, &imageprep.Size{Width: 32, Height: 64}, img.Original)
	require.True(t, near(decode(t, img.Bytes).At(12, 8), red, 24), "red is top right")
}

func TestPrepareKeepsAlphaAsPNG(t *testing.T) {
	m := image.NewNRGBA(image.Rect(0, 0, 64, 32))
	for y := range 32 {
		for x := range 64 {
			m.SetNRGBA(x, y, color.NRGBA{200, 30, 30, uint8(x * 4)})
		}
	}
	img, err := imageprep.Prepare(encode(t, m, "png"), imageprep.Options{MaxSide: 32})
	require.NoError(t, err)
	require.Equal(t, "png", img.Format)
	out, err := png.Decode(bytes.NewReader(img.Bytes))
	require.NoError(t, err)
	require.Equal(t, image.Rect(0, 0, 32, 16), out.Bounds())
	left := color.NRGBAModel.Convert(out.At(1, 8)).(color.NRGBA)
	right := color.NRGBAModel.Convert(out.At(30, 8)).(color.NRGBA)
	require.Less(t, left.A, uint8(40))
	require.Greater(t, right.A, uint8(200))
	require.InDelta(t, 200, int(right.R), 8, "colour survives premultiplication: %v", right)
}

func TestPrepareSendsOpaqueNonJPEGAsJPEG(t *testing.T) {
	for _, f := range []string{"png", "gif", "bmp", "tiff"} {
		t.Run(f, func(t *testing.T) {
			img, err := imageprep.Prepare(encode(t, quadrants(64, 32), f), imageprep.Options{MaxSide: 32})
			require.NoError(t, err)
			require.Equal(t, "jpeg", img.Format)
			m := decode(t, img.Bytes)
			require.Equal(t, image.Rect(0, 0, 32, 16), m.Bounds())
			require.True(t, near(m.At(24, 4), green, 24), "top right stays green: %v", m.At(24, 4))
		})
	}
}

// A wide-gamut photo keeps its colour profile when re-encoded.
func TestPrepareKeepsTheICCProfile(t *testing.T) {
	icc := append([]byte("ICC_PROFILE\x00\x01\x01"), bytes.Repeat([]byte{7}, 300)...)
	data := withOrientation(withSegment(encode(t, quadrants(64, 32), "jpeg"), 0xE2, icc), 8)
	img, err := imageprep.Prepare(data, imageprep.Options{Orient: true})
	require.NoError(t, err)
	require.Equal(t, []byte{0xFF, 0xD8, 0xFF, 0xE2}, img.Bytes[:4])
	require.True(t, bytes.Contains(img.Bytes, icc))
	decode(t, img.Bytes)
}

func TestInspectRecognisesTheSixFormats(t *testing.T) {
	m := quadrants(64, 32)
	for _, f := range []string{"jpeg", "png", "gif", "bmp", "tiff"} {
		h, err := imageprep.Inspect(encode(t, m, f))
		require.NoError(t, err, f)
		require.Equal(t, imageprep.Header{Format: f, Width: 64, Height: 32, Orientation: 1}, publicHeader(h))
	}
	h, err := imageprep.Inspect(lossyWebPHeader(64, 32))
	require.NoError(t, err)
	require.Equal(t, imageprep.Header{Format: "webp", Width: 64, Height: 32, Orientation: 1}, publicHeader(h))
}

// lossyWebPHeader is a RIFF WebP whose VP8 frame header declares w×h,
// with no picture data behind it.
func lossyWebPHeader(w, h int) []byte {
	frame := []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, byte(w), byte(w >> 8), byte(h), byte(h >> 8)}
	chunk := append([]byte("VP8 \x0a\x00\x00\x00"), frame...)
	riff := append([]byte("WEBP"), chunk...)
	return append([]byte{'R', 'I', 'F', 'F', byte(len(riff)), 0, 0, 0}, riff...)
}

func TestPrepareRefusesWhatIsNotAnImage(t *testing.T) {
	plain := encode(t, noise(64, 32, 3), "jpeg")
	full := withOrientation(plain, 6)
	tests := map[string][]byte{
		"abc":                      []byte("abc"),
		"empty":                    nil,
		"truncated jpeg":           full[:len(full)/2],
		"jpeg header only":         full[:200],
		"png magic only":           []byte("\x89PNG\r\n\x1a\n"),
		"zero-sized jpeg":          forgedJPEG(0, 10),
		"webp without picture":     lossyWebPHeader(64, 32)[:20],
		"exif before nothing":      withOrientation([]byte{0xFF, 0xD8}, 6),
		"garbage after jpeg magic": append([]byte{0xFF, 0xD8, 0xFF}, bytes.Repeat([]byte{0x42}, 50)...),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := imageprep.Prepare(data, imageprep.Options{Orient: true})
			require.ErrorIs(t, err, imageprep.ErrUnsupportedFormat)
		})
	}
}

// A forged header of 90 megapixels is refused from the header: the
// pixels (270 MB as YCbCr) are never allocated.
func TestPrepareRefusesTooManyPixelsWithoutDecoding(t *testing.T) {
	for name, data := range map[string][]byte{
		"jpeg": withOrientation(forgedJPEG(10000, 9000), 6),
		"png":  pngHeader(t, 10000, 9000),
	} {
		t.Run(name, func(t *testing.T) {
			var err error
			n := allocated(func() { _, err = imageprep.Prepare(data, imageprep.Options{Orient: true, MaxSide: 1024}) })
			require.ErrorIs(t, err, imageprep.ErrTooManyPixels)
			require.Less(t, n, uint64(1<<20), "allocated %d bytes", n)

			h, err := imageprep.Inspect(data)
			require.ErrorIs(t, err, imageprep.ErrTooManyPixels)
			require.Equal(t, 10000, h.Width, "the header comes with the error")
		})
	}
	_, err := imageprep.Prepare(encode(t, noise(64, 32, 4), "png"), imageprep.Options{MaxPixels: 2000})
	require.ErrorIs(t, err, imageprep.ErrTooManyPixels)
}

// pngHeader is a PNG signature and IHDR declaring w×h RGB pixels.
func pngHeader(t testing.TB, w, h int) []byte {
	m := encode(t, image.NewRGBA(image.Rect(0, 0, 1, 1)), "png")
	ihdr := m[:33]
	for i, v := range []int{w, h} {
		ihdr[16+4*i], ihdr[17+4*i], ihdr[18+4*i], ihdr[19+4*i] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	}
	binary.BigEndian.PutUint32(ihdr[29:], crc32.ChecksumIEEE(ihdr[12:29]))
	return ihdr
}

func TestOptionsValidate(t *testing.T) {
	require.NoError(t, imageprep.Options{}.Validate())
	require.NoError(t, imageprep.Options{Orient: true, MaxSide: 1024, MaxPixels: 1e6, Quality: 85}.Validate())
	for _, o := range []imageprep.Options{{MaxSide: -1}, {MaxPixels: -1}, {Quality: 101}, {Quality: -5}} {
		require.ErrorIs(t, o.Validate(), imageprep.ErrInvalidConfig, "%+v", o)
	}
}

// A GIF's first frame may cover only part of its screen: the rest is
// transparent, so the image comes out as a PNG of the screen's size.
func TestPreparePlacesAPartialGIFFrame(t *testing.T) {
	pal := color.Palette{color.Transparent, red}
	frame := image.NewPaletted(image.Rect(32, 0, 64, 32), pal)
	for i := range frame.Pix {
		frame.Pix[i] = 1
	}
	var b bytes.Buffer
	require.NoError(t, gif.EncodeAll(&b, &gif.GIF{
		Image:  []*image.Paletted{frame},
		Delay:  []int{0},
		Config: image.Config{ColorModel: pal, Width: 64, Height: 32},
	}))
	img, err := imageprep.Prepare(b.Bytes(), imageprep.Options{MaxSide: 32})
	require.NoError(t, err)
	require.Equal(t, "png", img.Format)
	m := decode(t, img.Bytes)
	require.Equal(t, image.Rect(0, 0, 32, 16), m.Bounds())
	_, _, _, a := m.At(4, 8).RGBA()
	require.Zero(t, a, "left half is transparent")
	require.True(t, near(m.At(28, 8), red, 8), "right half is red: %v", m.At(28, 8))
}
