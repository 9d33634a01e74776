// Package consumer is the worker's engine: it pulls image events from a
// durable JetStream pull consumer, turns each into one task per model it
// asks, groups tasks by model and output config, sends each group to a
// predictor in calls of up to 128 inputs, has the publisher store one
// result or one dead letter per task, and only then settles the message.
//
// The flow, one owner per stage:
//
//	fetch loop ──▶ intake ──▶ batch loop ◀─want── dispatch loop ──▶ call ──▶ deliver
//	(pulls what     (decode,   (owns pending;  ──batches─▶ (slot and quota,   (predict) (publish, PubAck,
//	 the ledger      Object     due by size                 then asks for               retry the publish,
//	 has room for)   Store)     or age)                     a batch)                    end each task)
//
// The ledger (ledger.go) owns what the worker holds: it admits each pulled
// message into a slot and the byte budget, keeps it alive with InProgress,
// and settles it exactly once, when its last task has ended. Each task's
// fate is chosen by decide (fate.go) or one of the named constructors
// beside it: a result or a dead letter, stored before the message is
// settled; a retry (NakWithDelay, growing with the deliveries, until the
// last allowed delivery dead-letters it); or a hand-back on shutdown (Nak).
// An output that fails to store is published again, the message still
// held: a prediction is never made twice because its output failed.
package consumer
