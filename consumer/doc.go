// Package consumer is the worker's engine: it pulls image events from a
// durable JetStream pull consumer, groups them by model and output config,
// sends each group to a predictor in calls of up to 128 inputs, publishes
// one result or one dead letter per event, and only then acknowledges the
// event.
//
// The flow, one owner per stage:
//
//	fetch loop ──▶ intake (decode, object store) ──▶ batcher ◀── dispatcher ──▶ call
//	(pulls only what it has room for)                (owns pending)   (slot, quota, then takes a batch)
//
// Every message has exactly one fate, chosen in decide (fate.go): result
// published then Ack; dead letter published then Term; transient failure
// then NakWithDelay, growing with the delivery count, until the last
// allowed delivery, which dead-letters it; shutdown hands it back with Nak.
package consumer
