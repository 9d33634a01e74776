package schemas

import (
	"bytes"
	_ "embed" // the schema files
	"errors"
	"fmt"
	"sync"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var (
	//go:embed event.schema.json
	eventSchema []byte
	//go:embed result.schema.json
	resultSchema []byte
	//go:embed deadletter.schema.json
	deadLetterSchema []byte
)

// EventSchema returns the JSON Schema (draft 2020-12) of events.
func EventSchema() []byte { return bytes.Clone(eventSchema) }

// ResultSchema returns the JSON Schema (draft 2020-12) of results.
func ResultSchema() []byte { return bytes.Clone(resultSchema) }

// DeadLetterSchema returns the JSON Schema (draft 2020-12) of dead letters.
func DeadLetterSchema() []byte { return bytes.Clone(deadLetterSchema) }

// compiledSchemas compiles the embedded schemas on first use, so that
// programs that only decode events never pay for it. The map's keys are
// the document kinds used in errors.
var compiledSchemas = sync.OnceValues(func() (map[string]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.AssertContent()
	c.RegisterContentMediaType(&jsonschema.MediaType{Name: "image/png", Validate: checkPNG})
	out := make(map[string]*jsonschema.Schema)
	for _, s := range []struct {
		what, file string
		raw        []byte
	}{
		{"event", "event.schema.json", eventSchema},
		{"result", "result.schema.json", resultSchema},
		{"dead letter", "deadletter.schema.json", deadLetterSchema},
	} {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(s.raw))
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", s.file, err)
		}
		if err := c.AddResource(s.file, doc); err != nil {
			return nil, fmt.Errorf("add %s: %w", s.file, err)
		}
		if out[s.what], err = c.Compile(s.file); err != nil {
			return nil, fmt.Errorf("compile %s: %w", s.file, err)
		}
	}
	return out, nil
})

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

func checkPNG(b []byte) error {
	if !bytes.HasPrefix(b, pngSignature) {
		return errors.New("not a PNG image")
	}
	return nil
}

// ValidateEvent checks data against the event schema. The worker itself
// uses DecodeEvent; this is for producers' tests and tools.
func ValidateEvent(data []byte) error { return validate(data, "event") }

// ValidateResult checks data against the result schema.
func ValidateResult(data []byte) error { return validate(data, "result") }

// ValidateDeadLetter checks data against the dead-letter schema.
func ValidateDeadLetter(data []byte) error { return validate(data, "dead letter") }

func validate(data []byte, what string) error {
	schemas, err := compiledSchemas()
	if err != nil {
		return fmt.Errorf("%s schema: %w", what, err)
	}
	// JSON text is UTF-8 (RFC 8259, section 8.1); the parser below would
	// quietly replace what is not.
	if !utf8.Valid(data) {
		return fmt.Errorf("%s is not JSON: not UTF-8", what)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%s is not JSON: %w", what, err)
	}
	if err := schemas[what].Validate(doc); err != nil {
		return fmt.Errorf("%s does not match its schema: %w", what, err)
	}
	return nil
}
