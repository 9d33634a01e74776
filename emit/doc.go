// Package emit publishes image events, as an upload service would, for
// feeding the worker and for trying it out.
//
// Sources are image files, directories (searched recursively for .jpg,
// .jpeg, .png, .gif and .webp), http(s) URLs (sent as references, not
// downloaded) and .jsonl files of ready events. Small images travel inline
// as base64; larger ones are put into a JetStream Object Store bucket and
// the event names the object.
//
// Event ids are derived from the image's content (or the URL) and sent as
// Nats-Msg-Id, so emitting the same image twice within the stream's
// duplicate window stores it once.
package emit
