package emit

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/imgpredict/worker/schemas"
)

// idHashLen hex digits (64 bits) keep ids short and collisions unlikely
// for any realistic number of images.
const idHashLen = 16

// eventID derives a stable id from data (image bytes or a URL).
func eventID(prefix string, data []byte) string {
	sum := sha256.Sum256(data)
	return prefix + hex.EncodeToString(sum[:])[:idHashLen]
}

// sourceMetadata records where an event came from; results carry it back.
func sourceMetadata(src string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"source": src}) // cannot fail for a string map
	return b
}

// encodeEvent marshals ev and checks it with the worker's own decoder, so
// emit never publishes what the worker would dead-letter as malformed.
func encodeEvent(ev schemas.Event) ([]byte, error) {
	ev.SchemaVersion = schemas.Version
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode event %s: %w", ev.ID, err)
	}
	if _, err := schemas.DecodeEvent(b); err != nil {
		return nil, err
	}
	return b, nil
}

// eventOverhead bounds an event's bytes besides its base64 image: id,
// model, and the source path in metadata.
const eventOverhead = 16 << 10

// inlineFits reports whether an event with n image bytes inline stays
// within the server's max payload; if not, the image goes to the Object Store.
func inlineFits(n int, maxPayload int64) bool {
	return int64(base64.StdEncoding.EncodedLen(n)+eventOverhead) <= maxPayload
}

// inlineImage is an image carried in the event itself.
func inlineImage(data []byte) schemas.Image {
	return schemas.Image{Base64: base64.StdEncoding.EncodeToString(data)}
}

// objectDigest is the digest the Object Store records for data, used to
// skip uploading an object that is already there.
func objectDigest(data []byte) string {
	sum := sha256.Sum256(data)
	return "SHA-256=" + base64.URLEncoding.EncodeToString(sum[:])
}
