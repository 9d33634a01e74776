// Package schemas defines the worker's public documents: the event that
// asks for a prediction, the result that answers it, and the dead letter
// that records an input the worker gave up on. Each has a Go type and a
// JSON Schema (draft 2020-12) file embedded here; downstream teams build
// on the schema files, which describe every field.
//
// # Decoding and validating
//
// DecodeEvent is the worker's hot path: one strict reading of the
// message (github.com/go-json-experiment/json, the prototype of Go's
// encoding/json/v2) plus hand-written checks that mirror the event
// schema, returning an *InvalidEventError with a stable Reason for bad
// input. ValidateEvent, ValidateResult and ValidateDeadLetter run the
// JSON Schema validator and are meant for tests and tools. A shared
// corpus (testdata/events) holds the two to the same verdicts, except in
// cases the schema cannot see, which DecodeEvent alone refuses (the
// corpus keeps them in beyond-schema/):
//
//   - the message must be I-JSON (RFC 7493): no object with two members
//     of the same name, and no unpaired surrogate escape in a string.
//     Parsers differ on which duplicate wins, so a producer and the
//     worker could otherwise read different events from one message.
//   - metadata is bounded in bytes and in depth.
//   - models entries must differ once null, empty and absent fields are
//     treated alike; the schema's uniqueItems sees only exact copies.
//   - The schema bounds base64 by length (the padded length of
//     MaxImageBytes bytes); an unpadded string of that length decodes to
//     one byte more, which DecodeEvent refuses as image_too_large.
//
// Member names match exactly, as in the schema. The Max constants list
// every bound and why it is there.
//
// In events, null means the same as an absent field, and fields the
// schema does not name are ignored. Being lenient on unknown fields lets
// producers add fields (such as a trace id) before every worker knows
// them, so producers and workers can be upgraded in any order; the price
// is that a misspelt optional field is ignored rather than refused.
//
// # Compatibility
//
// Every document carries schema_version (optional in events). Within a
// version, changes are additive only: new optional fields and new
// dead-letter reasons. Readers must therefore ignore fields they do not know,
// and none of the schemas forbids them. Removing or renaming a field,
// changing its type or meaning, or making an optional field required is
// a breaking change: it bumps Version, and the schema files change their
// const. Workers reject events of a version they do not know with
// unsupported_schema_version.
package schemas
