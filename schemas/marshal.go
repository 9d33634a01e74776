package schemas

import "encoding/json"

// MarshalJSON writes empty concepts and regions as [] rather than null,
// and fills a zero SchemaVersion with Version, so that every result
// matches the result schema.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result // without this method
	if r.SchemaVersion == 0 {
		r.SchemaVersion = Version
	}
	if r.Concepts == nil {
		r.Concepts = []Concept{}
	}
	if r.Regions == nil {
		r.Regions = []Region{}
	}
	return json.Marshal(plain(r))
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
