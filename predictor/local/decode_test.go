package local_test

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/predictor/local"
)

func TestDecodesWebP(t *testing.T) {
	p := newPredictor(t, local.Config{})
	pred := predictBytes(t, p, losslessWebP(6, 3, 255, 0, 0), predictor.OutputConfig{})
	require.Equal(t, map[string]float32{"red": 1}, colorShares(t, pred))
	r := region(t, pred, "red")
	require.Equal(t, predictor.BoundingBox{TopRow: 0, LeftCol: 0, BottomRow: 1, RightCol: 1}, *r.Box)
}

func TestRejectsWhatItCannotDecode(t *testing.T) {
	png := encode(t, canvas(40, 40, red), "png")
	jpeg := encode(t, canvas(40, 40, red), "jpeg")
	tests := []struct {
		name string
		data []byte
	}{
		{"text", []byte("this is not an image")},
		{"bmp", append([]byte("BM"), make([]byte, 60)...)},
		{"truncated png", png[:len(png)/2]},
		{"png header only", png[:8]},
		{"corrupt jpeg", append(jpeg[:20:20], bytes.Repeat([]byte{0x42}, 200)...)},
		{"riff but not webp", []byte("RIFF\x04\x00\x00\x00WAVE")},
		{"webp with garbage", []byte("RIFF\x0c\x00\x00\x00WEBPVP8L\x00\x00\x00\x00")},
	}
	p := newPredictor(t, local.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pe := predictErr(t, p, predictor.Input{ID: "in", Bytes: tt.data})
			require.Equal(t, predictor.PermanentInput, pe.Class)
			require.Equal(t, uint32(30101), pe.Code)
			require.Equal(t, "unsupported_format", pe.Reason)
			require.NotEmpty(t, pe.ReqID)
		})
	}
}

func TestRejectsTooLarge(t *testing.T) {
	p := newPredictor(t, local.Config{})

	big := append(encode(t, canvas(10, 10, red), "png"), make([]byte, 20<<20)...)
	pe := predictErr(t, p, predictor.Input{ID: "big", Bytes: big})
	require.Equal(t, "image_too_large", pe.Reason)
	require.Equal(t, uint32(30105), pe.Code)
	require.ErrorIs(t, pe, local.ErrTooLarge)

	// A small file that claims 100000 x 100000 pixels is not decoded.
	var bomb bytes.Buffer
	require.NoError(t, png.Encode(&bomb, image.NewGray(image.Rect(0, 0, 1, 1))))
	data := bomb.Bytes()
	binary.BigEndian.PutUint32(data[16:], 100000) // IHDR width
	binary.BigEndian.PutUint32(data[20:], 100000) // IHDR height
	binary.BigEndian.PutUint32(data[29:], crc32.ChecksumIEEE(data[12:29]))
	pe = predictErr(t, p, predictor.Input{ID: "bomb", Bytes: data})
	require.Equal(t, "image_too_large", pe.Reason)
}

func TestRejectsInputWithoutOneSource(t *testing.T) {
	p := newPredictor(t, local.Config{})
	for _, in := range []predictor.Input{{ID: "none"}, {ID: "both", URL: "http://127.0.0.1/x.png", Bytes: []byte("x")}} {
		pe := predictErr(t, p, in)
		require.Equal(t, "invalid_input", pe.Reason, in.ID)
		require.Equal(t, uint32(30104), pe.Code, in.ID)
		require.Equal(t, predictor.PermanentInput, pe.Class, in.ID)
	}
}

// losslessWebP builds a w x h WebP of one opaque colour by hand (the Go
// libraries only decode WebP). Each channel gets a one-symbol "simple"
// prefix code, so every pixel takes zero bits of entropy-coded data.
func losslessWebP(w, h int, r, g, b uint8) []byte {
	var bw bitWriter
	bw.write(0x2f, 8) // VP8L signature
	bw.write(uint32(w-1), 14)
	bw.write(uint32(h-1), 14)
	bw.write(0, 1) // alpha not used
	bw.write(0, 3) // version 0
	bw.write(0, 1) // no transform
	bw.write(0, 1) // no colour cache
	bw.write(0, 1) // no meta prefix codes
	// green, red, blue, alpha, distance
	for _, sym := range []uint8{g, r, b, 255, 0} {
		bw.write(1, 1) // simple code
		bw.write(0, 1) // one symbol
		bw.write(1, 1) // 8-bit symbol
		bw.write(uint32(sym), 8)
	}
	vp8l := bw.bytes()

	var out bytes.Buffer
	chunk := len(vp8l) + len(vp8l)%2
	out.WriteString("RIFF")
	_ = binary.Write(&out, binary.LittleEndian, uint32(4+8+chunk))
	out.WriteString("WEBPVP8L")
	_ = binary.Write(&out, binary.LittleEndian, uint32(len(vp8l)))
	out.Write(vp8l)
	if len(vp8l)%2 == 1 {
		out.WriteByte(0)
	}
	return out.Bytes()
}

// bitWriter packs bits least significant first, as VP8L reads them.
type bitWriter struct {
	buf   []byte
	nbits uint
}

func (w *bitWriter) write(v uint32, n uint) {
	for i := range n {
		if w.nbits%8 == 0 {
			w.buf = append(w.buf, 0)
		}
		w.buf[len(w.buf)-1] |= byte(v>>i&1) << (w.nbits % 8)
		w.nbits++
	}
}

func (w *bitWriter) bytes() []byte { return w.buf }
