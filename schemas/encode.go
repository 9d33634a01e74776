package schemas

import (
	"encoding/base64"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendResult writes r as JSON by hand: results are encoded once per
// event, and reflection made encoding/json the largest cost of the
// worker's own code. The output decodes to what encoding/json would
// write (TestAppendResultMatchesEncodingJSON holds the two together).
func appendResult(b []byte, r *Result) []byte {
	v := r.SchemaVersion
	if v == 0 {
		v = Version
	}
	b = append(b, `{"schema_version":`...)
	b = strconv.AppendInt(b, int64(v), 10)
	b = append(b, `,"event_id":`...)
	b = appendString(b, r.EventID)
	b = append(b, `,"model":`...)
	b = appendModel(b, &r.Model)
	b = append(b, `,"status":{"code":`...)
	b = strconv.AppendUint(b, uint64(r.Status.Code), 10)
	b = append(b, `,"description":`...)
	b = appendString(b, r.Status.Description)
	if r.Status.ReqID != "" {
		b = append(b, `,"req_id":`...)
		b = appendString(b, r.Status.ReqID)
	}
	b = append(b, '}')
	if o := r.Output; o != nil {
		b = appendOutput(b, o)
	}
	b = append(b, `,"concepts":`...)
	b = appendConcepts(b, r.Concepts)
	b = append(b, `,"regions":[`...)
	for i := range r.Regions {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRegion(b, &r.Regions[i])
	}
	b = append(b, ']')
	if len(r.Embeddings) > 0 {
		b = appendEmbeddings(b, r.Embeddings)
	}
	if len(r.Colors) > 0 {
		b = appendColors(b, r.Colors)
	}
	if im := r.Image; im != nil {
		b = appendImageInfo(b, im)
	}
	if r.Cached {
		b = append(b, `,"cached":true`...)
	}
	if len(r.Metadata) > 0 {
		b = append(b, `,"metadata":`...)
		b = append(b, r.Metadata...) // checked JSON, from DecodeEvent or json.Unmarshal
	}
	s := &r.Source
	b = append(b, `,"source":{"stream":`...)
	b = appendString(b, s.Stream)
	b = append(b, `,"sequence":`...)
	b = strconv.AppendUint(b, s.Sequence, 10)
	b = append(b, `,"subject":`...)
	b = appendString(b, s.Subject)
	b = append(b, `,"deliveries":`...)
	b = strconv.AppendUint(b, s.Deliveries, 10)
	b = append(b, `},"predicted_at":"`...)
	b = r.PredictedAt.AppendFormat(b, time.RFC3339Nano)
	return append(b, `"}`...)
}

func appendModel(b []byte, m *Model) []byte {
	b = append(b, '{')
	first := true
	for _, f := range [...]struct{ key, val string }{
		{`"id":`, m.ID}, {`"version_id":`, m.VersionID}, {`"user_id":`, m.UserID}, {`"app_id":`, m.AppID},
	} {
		if f.val == "" {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, f.key...)
		b = appendString(b, f.val)
	}
	return append(b, '}')
}

func appendConcepts(b []byte, cs []Concept) []byte {
	b = append(b, '[')
	for i := range cs {
		c := &cs[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendString(b, c.ID)
		if c.Name != "" {
			b = append(b, `,"name":`...)
			b = appendString(b, c.Name)
		}
		b = append(b, `,"value":`...)
		b = appendFloat32(b, c.Value)
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendRegion(b []byte, r *Region) []byte {
	b = append(b, '{')
	open := len(b)
	sep := func(b []byte) []byte {
		if len(b) > open {
			return append(b, ',')
		}
		return b
	}
	if r.ID != "" {
		b = append(b, `"id":`...)
		b = appendString(b, r.ID)
	}
	if r.Value != 0 {
		b = sep(b)
		b = append(b, `"value":`...)
		b = appendFloat32(b, r.Value)
	}
	if bb := r.BoundingBox; bb != nil {
		b = sep(b)
		b = append(b, `"bounding_box":{"top_row":`...)
		b = appendFloat32(b, bb.TopRow)
		b = append(b, `,"left_col":`...)
		b = appendFloat32(b, bb.LeftCol)
		b = append(b, `,"bottom_row":`...)
		b = appendFloat32(b, bb.BottomRow)
		b = append(b, `,"right_col":`...)
		b = appendFloat32(b, bb.RightCol)
		b = append(b, '}')
	}
	if m := r.Mask; m != nil {
		b = sep(b)
		b = append(b, `"mask":{`...)
		if len(m.PNG) > 0 {
			b = append(b, `"png":"`...)
			b = base64.StdEncoding.AppendEncode(b, m.PNG)
			b = append(b, '"')
		}
		if o := m.Object; o != nil {
			if len(m.PNG) > 0 {
				b = append(b, ',')
			}
			b = append(b, `"object":{"bucket":`...)
			b = appendString(b, o.Bucket)
			b = append(b, `,"name":`...)
			b = appendString(b, o.Name)
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	if len(r.Polygon) > 0 {
		b = sep(b)
		b = append(b, `"polygon":`...)
		b = appendPoints(b, r.Polygon)
	}
	if p := r.Point; p != nil {
		b = sep(b)
		b = append(b, `"point":`...)
		b = appendPoint(b, p)
	}
	if len(r.Keypoints) > 0 {
		b = sep(b)
		b = append(b, `"keypoints":`...)
		b = appendPoints(b, r.Keypoints)
	}
	if r.TrackID != "" {
		b = sep(b)
		b = append(b, `"track_id":`...)
		b = appendString(b, r.TrackID)
	}
	if len(r.Concepts) > 0 {
		b = sep(b)
		b = append(b, `"concepts":`...)
		b = appendConcepts(b, r.Concepts)
	}
	return append(b, '}')
}

func appendPoints(b []byte, ps []Point) []byte {
	b = append(b, '[')
	for i := range ps {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendPoint(b, &ps[i])
	}
	return append(b, ']')
}

func appendPoint(b []byte, p *Point) []byte {
	b = append(b, `{"row":`...)
	b = appendFloat32(b, p.Row)
	b = append(b, `,"col":`...)
	b = appendFloat32(b, p.Col)
	if p.Z != 0 {
		b = append(b, `,"z":`...)
		b = appendFloat32(b, p.Z)
	}
	if p.Visibility != "" {
		b = append(b, `,"visibility":`...)
		b = appendString(b, p.Visibility)
	}
	return append(b, '}')
}

func appendOutput(b []byte, o *OutputInfo) []byte {
	b = append(b, `,"output":{`...)
	if o.ID != "" {
		b = append(b, `"id":`...)
		b = appendString(b, o.ID)
	}
	if !o.CreatedAt.IsZero() {
		if o.ID != "" {
			b = append(b, ',')
		}
		b = append(b, `"created_at":"`...)
		b = o.CreatedAt.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	return append(b, '}')
}

func appendEmbeddings(b []byte, es []Embedding) []byte {
	b = append(b, `,"embeddings":[`...)
	for i := range es {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"vector":[`...)
		for j, f := range es[i].Vector {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendFloat32(b, f)
		}
		b = append(b, `],"num_dimensions":`...)
		b = strconv.AppendUint(b, uint64(es[i].NumDimensions), 10)
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendColors(b []byte, cs []Color) []byte {
	b = append(b, `,"colors":[`...)
	for i := range cs {
		c := &cs[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"raw_hex":`...)
		b = appendString(b, c.RawHex)
		if w := c.W3C; w != nil {
			b = append(b, `,"w3c":{"hex":`...)
			b = appendString(b, w.Hex)
			b = append(b, `,"name":`...)
			b = appendString(b, w.Name)
			b = append(b, '}')
		}
		b = append(b, `,"value":`...)
		b = appendFloat32(b, c.Value)
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendImageInfo(b []byte, im *ImageInfo) []byte {
	b = append(b, `,"image":{"width":`...)
	b = strconv.AppendInt(b, int64(im.Width), 10)
	b = append(b, `,"height":`...)
	b = strconv.AppendInt(b, int64(im.Height), 10)
	if im.Orientation != 0 {
		b = append(b, `,"orientation":`...)
		b = strconv.AppendInt(b, int64(im.Orientation), 10)
	}
	if o := im.Original; o != nil {
		b = append(b, `,"original":{"width":`...)
		b = strconv.AppendInt(b, int64(o.Width), 10)
		b = append(b, `,"height":`...)
		b = strconv.AppendInt(b, int64(o.Height), 10)
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendFloat32 formats f as encoding/json does.
func appendFloat32(b []byte, f float32) []byte {
	x := float64(f)
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return append(b, '0') // not JSON; scores are never so
	}
	abs := math.Abs(x)
	format := byte('f')
	if abs != 0 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, x, format, -1, 32)
}

// appendString writes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
