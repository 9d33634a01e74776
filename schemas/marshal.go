package schemas

import (
	"encoding/json"
	"errors"
	"fmt"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

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

// MarshalJSON writes a concept selected by id as a plain string, the
// form every version of the schema accepts, and one selected by name as
// {"name": ...}.
func (c ConceptRef) MarshalJSON() ([]byte, error) {
	switch {
	case c.Name == "":
		return json.Marshal(c.ID)
	case c.ID == "":
		return json.Marshal(struct {
			Name string `json:"name"`
		}{c.Name})
	}
	return json.Marshal(struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}{c.ID, c.Name})
}

// UnmarshalJSON reads a string as an id, or an object with exactly one
// of id and name (null meaning absent).
func (c *ConceptRef) UnmarshalJSON(data []byte) error {
	switch k := jsontext.Value(data).Kind(); k {
	case '"':
		*c = ConceptRef{}
		return jsonv2.Unmarshal(data, &c.ID)
	case '{':
		var o struct {
			ID   *string `json:"id"`
			Name *string `json:"name"`
		}
		if err := jsonv2.Unmarshal(data, &o); err != nil {
			return err
		}
		if (o.ID == nil) == (o.Name == nil) {
			return errors.New("a concept object needs exactly one of id and name")
		}
		*c = ConceptRef{}
		if o.ID != nil {
			c.ID = *o.ID
		} else {
			c.Name = *o.Name
		}
		return nil
	default:
		return fmt.Errorf("a concept is a string or an object, not %s", jsonKind(k))
	}
}
