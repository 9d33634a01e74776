package schemas

import "encoding/json"

// MarshalJSON writes empty concepts and regions as [] rather than null,
// and fills a zero SchemaVersion with Version, so that every result
// matches the result schema.
func (r Result) MarshalJSON() ([]byte, error) {
	size := 512 + len(r.Metadata) + 96*len(r.Concepts) + 80*len(r.Colors)
	for _, rg := range r.Regions {
		size += 192 + 96*len(rg.Concepts) + 48*(len(rg.Polygon)+len(rg.Keypoints))
		if rg.Mask != nil {
			size += len(rg.Mask.PNG) * 4 / 3
		}
	}
	for _, e := range r.Embeddings {
		size += 32 + 12*len(e.Vector)
	}
	return appendResult(make([]byte, 0, size), &r), nil
}

// MarshalJSON writes an empty original message as "" (unless
// OriginalObject holds it), and fills a zero SchemaVersion with Version,
// so that every dead letter matches the dead-letter schema.
func (d DeadLetter) MarshalJSON() ([]byte, error) {
	type plain DeadLetter // without this method
	if d.SchemaVersion == 0 {
		d.SchemaVersion = Version
	}
	if d.Original == nil && d.OriginalObject == nil {
		d.Original = []byte{}
	}
	return json.Marshal(plain(d))
}
