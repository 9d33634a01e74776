package schemas

// Reasons the worker itself gives.
const (
	ReasonObjectNotFound  = "object_not_found"
	ReasonMaxDeliveries   = "max_deliveries"
	ReasonMessageTooLarge = "message_too_large"
	ReasonResultTooLarge  = "result_too_large"
	ReasonPredictFailed   = "predict_failed"
)
