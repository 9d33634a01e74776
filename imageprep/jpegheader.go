package imageprep

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// jpegInfo is what a JPEG's markers up to the first scan say.
type jpegInfo struct {
	width, height int
	progressive   bool
	comps         []jpegComp
	orientation   int      // EXIF orientation, 1 when absent or invalid
	icc           [][]byte // APP2 ICC_PROFILE segments, marker and length included
	adobe         int      // APP14 Adobe colour transform, -1 when absent
	jfif          bool     // an APP0 JFIF segment: YCbCr for sure
}

// jpegComp is one component's id and sampling factors.
type jpegComp struct{ id, h, v int }

var errJPEGHeader = errors.New("malformed JPEG")

// parseJPEG walks the markers from SOI to the first SOS. It reads any
// frame type, so that a JPEG that needs no change is passed on even if
// image/jpeg could not decode it (arithmetic coding, lossless, 12 bits).
func parseJPEG(b []byte) (jpegInfo, error) {
	info := jpegInfo{orientation: 1, adobe: -1}
	exifSeen := false
	for i := 2; ; {
		if i+2 > len(b) || b[i] != 0xFF {
			return info, fmt.Errorf("%w: no marker at byte %d", errJPEGHeader, i)
		}
		m := b[i+1]
		switch {
		case m == 0xFF: // fill byte before a marker
			i++
			continue
		case m == 0x01 || m >= 0xD0 && m <= 0xD7: // TEM, RSTn: no length
			i += 2
			continue
		case m == 0xD8 || m == 0xD9:
			return info, fmt.Errorf("%w: marker %#x before the first scan", errJPEGHeader, m)
		}
		if i+4 > len(b) {
			return info, fmt.Errorf("%w: truncated at byte %d", errJPEGHeader, i)
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return info, fmt.Errorf("%w: segment %#x of %d bytes at byte %d", errJPEGHeader, m, n, i)
		}
		seg := b[i+4 : i+2+n]
		switch {
		case m == 0xE1 && !exifSeen && bytes.HasPrefix(seg, []byte("Exif\x00\x00")):
			exifSeen = true
			info.orientation = exifOrientation(seg[6:])
		case m == 0xE2 && bytes.HasPrefix(seg, []byte("ICC_PROFILE\x00")):
			info.icc = append(info.icc, b[i:i+2+n])
		case m == 0xE0 && bytes.HasPrefix(seg, []byte("JFIF\x00")):
			info.jfif = true
		case m == 0xEE && len(seg) >= 12 && bytes.HasPrefix(seg, []byte("Adobe")):
			info.adobe = int(seg[11])
		case isSOF(m):
			if info.comps != nil {
				return info, fmt.Errorf("%w: two frames", errJPEGHeader)
			}
			if err := info.parseSOF(m, seg); err != nil {
				return info, err
			}
		case m == 0xDA: // SOS
			if info.comps == nil {
				return info, fmt.Errorf("%w: scan before frame", errJPEGHeader)
			}
			// Entropy-coded data stuffs every 0xFF, so FF D9 after the
			// first scan is the end of the image: a file without it was
			// cut short, even if it needs no decoding here. Data after
			// it (Samsung's trailer) is allowed.
			if !bytes.Contains(b[i:], []byte{0xFF, 0xD9}) {
				return info, fmt.Errorf("%w: truncated: no end-of-image marker", errJPEGHeader)
			}
			return info, nil
		}
		i += 2 + n
	}
}

// isSOF reports whether m starts a frame: C0-CF but DHT, JPG and DAC.
func isSOF(m byte) bool {
	return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC
}

func (info *jpegInfo) parseSOF(m byte, seg []byte) error {
	if len(seg) < 6 {
		return fmt.Errorf("%w: short frame header", errJPEGHeader)
	}
	info.height = int(binary.BigEndian.Uint16(seg[1:]))
	info.width = int(binary.BigEndian.Uint16(seg[3:]))
	nc := int(seg[5])
	if nc == 0 || len(seg) < 6+3*nc {
		return fmt.Errorf("%w: frame with %d components in %d bytes", errJPEGHeader, nc, len(seg))
	}
	info.comps = make([]jpegComp, nc)
	for c := range info.comps {
		hv := seg[6+3*c+1]
		h, v := int(hv>>4), int(hv&15)
		if h < 1 || h > 4 || v < 1 || v > 4 {
			return fmt.Errorf("%w: sampling factors %dx%d", errJPEGHeader, h, v)
		}
		info.comps[c] = jpegComp{int(seg[6+3*c]), h, v}
	}
	info.progressive = m == 0xC2 || m == 0xC6 || m == 0xCA || m == 0xCE
	return nil
}

// exifOrientation reads tag 0x0112 of IFD0 in a TIFF-structured EXIF
// block; anything missing or out of range counts as 1.
func exifOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 1
	}
	ifd := int64(bo.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > int64(len(t)) {
		return 1
	}
	n := int64(bo.Uint16(t[ifd:]))
	for e := ifd + 2; e+12 <= int64(len(t)) && e < ifd+2+12*n; e += 12 {
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		if bo.Uint16(t[e+2:]) != 3 || bo.Uint32(t[e+4:]) != 1 { // one SHORT
			return 1
		}
		if o := int(bo.Uint16(t[e+8:])); o >= 1 && o <= 8 {
			return o
		}
		return 1
	}
	return 1
}

// decodeBytes bounds what image/jpeg allocates for the pixels: planes
// padded to whole MCUs, 4 bytes more per sample for the coefficients
// of a progressive scan, and a CMYK image for four components.
func (info jpegInfo) decodeBytes() float64 {
	hmax, vmax := 1, 1
	for _, c := range info.comps {
		hmax, vmax = max(hmax, c.h), max(vmax, c.v)
	}
	mw := float64((info.width + 8*hmax - 1) / (8 * hmax) * 8 * hmax)
	mh := float64((info.height + 8*vmax - 1) / (8 * vmax) * 8 * vmax)
	var samples float64
	for _, c := range info.comps {
		samples += mw * mh * float64(c.h*c.v) / float64(hmax*vmax)
	}
	n := samples
	if info.progressive {
		n += 4 * samples
	}
	if len(info.comps) == 4 || info.rgb() {
		n += 4 * mw * mh // converted to CMYK or RGBA at the end
	}
	return n
}

// rgb reports whether the three components are R, G and B rather than
// YCbCr, as image/jpeg decides it: not with JFIF, yes with Adobe
// transform 0, else by the component ids.
func (info jpegInfo) rgb() bool {
	if len(info.comps) != 3 || info.jfif {
		return false
	}
	if info.adobe == 0 {
		return true
	}
	c := info.comps
	return c[0].id == 'R' && c[1].id == 'G' && c[2].id == 'B'
}
