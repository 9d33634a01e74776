package memo

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"

	"github.com/imgpredict/worker/schemas"
)

// keyBytes of a SHA-256 make a key: 128 bits keep accidental collisions
// out of reach for billions of records, and a deliberate one gives a
// wrong answer only for the colliding attacker's own pair.
const keyBytes = 16

// DoneKey is the idempotency key of an event's output for one model, as
// the worker asked it (after defaults are filled in).
func (*Memo) DoneKey(eventID string, asked schemas.Model) string { return doneKey(eventID, asked) }

func doneKey(eventID string, asked schemas.Model) string {
	var stack [256]byte
	f := fields(stack[:0]).str("done/1").str(eventID).model(asked)
	sum := sha256.Sum256(f)
	return hexKey(sum[:keyBytes])
}

// CacheKey is the result-cache key of an image, by its bytes or, for a
// URL image (url not empty), by its URL, with the model as asked (an
// empty version means the latest) and the output config. ok is false
// when the result must not be cached: the cache is off, or the image is
// a URL and CacheURLs is off.
func (m *Memo) CacheKey(image []byte, url string, asked schemas.Model, oc *schemas.OutputConfig) (key string, ok bool) {
	if m.cache == nil || (url != "" && !m.cfg.CacheURLs) {
		return "", false
	}
	var stack [256]byte
	f := fields(stack[:0]).str("cache/1").model(asked).outputConfig(oc)
	h := sha256.New()
	if url != "" {
		h.Write(f.str("url").str(url))
	} else {
		// The image is the last field, so its length prefix is all it
		// needs; it is hashed where it lies rather than copied.
		h.Write(binary.AppendUvarint(f.str("bytes"), uint64(len(image))))
		h.Write(image)
	}
	var sum [sha256.Size]byte
	return hexKey(h.Sum(sum[:0])[:keyBytes]), true
}

func hexKey(b []byte) string {
	var out [2 * keyBytes]byte
	hex.Encode(out[:], b)
	return string(out[:])
}

// fields is the hashed encoding: every field is length-prefixed, so no
// two distinct inputs encode alike, whatever bytes the ids hold.
type fields []byte

func (f fields) str(s string) fields {
	f = binary.AppendUvarint(f, uint64(len(s)))
	return append(f, s...)
}

func (f fields) uint(v uint64) fields {
	return binary.AppendUvarint(f, v)
}

func (f fields) model(m schemas.Model) fields {
	return f.str(m.UserID).str(m.AppID).str(m.ID).str(m.VersionID)
}

// outputConfig encodes a nil config as the zero one: both ask for the
// model's own settings.
func (f fields) outputConfig(oc *schemas.OutputConfig) fields {
	var c schemas.OutputConfig
	if oc != nil {
		c = *oc
	}
	f = f.uint(uint64(c.MaxConcepts)).uint(uint64(math.Float32bits(c.MinValue))).uint(uint64(len(c.SelectConcepts)))
	for _, s := range c.SelectConcepts {
		f = f.str(s.ID).str(s.Name)
	}
	return f
}
