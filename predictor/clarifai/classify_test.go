package clarifai

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/schemas"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestClassifyStatus(t *testing.T) {
	tests := []struct {
		code   uint32
		class  predictor.Class
		reason string
	}{
		{10000, 0, ""},
		{10020, predictor.Transient, schemas.ReasonServerError},
		{10030, predictor.Transient, schemas.ReasonServerError},
		{11000, predictor.Account, schemas.ReasonAccountIssue},
		{11001, predictor.Account, schemas.ReasonAuthFailed},
		{11002, predictor.Account, schemas.ReasonAuthFailed},
		{11003, predictor.Transient, schemas.ReasonThrottled},
		{11004, predictor.Account, schemas.ReasonQuotaExceeded},
		{11005, predictor.Transient, schemas.ReasonThrottled},
		{11006, predictor.Account, schemas.ReasonQuotaExceeded},
		{11007, predictor.Account, schemas.ReasonAuthFailed},
		{11008, predictor.Account, schemas.ReasonAuthFailed},
		{11009, predictor.Account, schemas.ReasonAuthFailed},
		{11103, predictor.Permanent, schemas.ReasonRequestInvalid},
		{11104, predictor.Account, schemas.ReasonAccountIssue},
		{11105, predictor.Permanent, schemas.ReasonRequestInvalid},
		{11200, predictor.Account, schemas.ReasonAuthFailed},
		{21200, predictor.Permanent, schemas.ReasonModelNotFound},
		{21201, predictor.Permanent, schemas.ReasonAuthFailed},
		{25601, predictor.Permanent, schemas.ReasonAuthFailed},
		{21313, predictor.Transient, schemas.ReasonPredictionFailed},
		{21351, predictor.Transient, schemas.ReasonModelUnavailable},
		{21353, predictor.Transient, schemas.ReasonModelUnavailable},
		{21354, predictor.Transient, schemas.ReasonModelUnavailable},
		{21355, predictor.Transient, schemas.ReasonModelUnavailable},
		{25604, predictor.Transient, schemas.ReasonServerError},
		{25900, predictor.Permanent, schemas.ReasonModelNotFound},
		{30002, predictor.PermanentInput, schemas.ReasonInputDownloadFailed},
		{30101, predictor.PermanentInput, schemas.ReasonUnsupportedFormat},
		{30104, predictor.PermanentInput, schemas.ReasonInvalidInput},
		{30105, predictor.PermanentInput, schemas.ReasonImageTooLarge},
		{30106, predictor.PermanentInput, schemas.ReasonInvalidInput},
		{39997, predictor.Transient, schemas.ReasonServerError},
		{40001, predictor.Permanent, schemas.ReasonRequestInvalid},
		{40030, predictor.Transient, schemas.ReasonThrottled},
		{40031, predictor.Transient, schemas.ReasonServerError},
		{40032, predictor.Transient, schemas.ReasonServerError},
		{40033, predictor.Permanent, schemas.ReasonMessageTooLarge},
		{40034, predictor.Transient, schemas.ReasonServerError},
		{40035, predictor.Transient, schemas.ReasonServerError},
		{41005, predictor.Transient, schemas.ReasonServerError},
		{46003, predictor.PermanentInput, schemas.ReasonUnsupportedFormat},
		{47103, predictor.PermanentInput, schemas.ReasonImageTooLarge},
		{47104, predictor.PermanentInput, schemas.ReasonUnsupportedFormat},
		{50001, predictor.Permanent, schemas.ReasonRequestInvalid},
		{60006, predictor.Account, schemas.ReasonQuotaExceeded},
		{62002, predictor.Permanent, schemas.ReasonRequestInvalid},
		{69000, predictor.Account, schemas.ReasonAccountIssue},
		{69001, predictor.Account, schemas.ReasonAccountIssue},
		{99005, predictor.Account, schemas.ReasonAccountIssue},
		{98017, predictor.Transient, schemas.ReasonServerError},
		{0, predictor.Transient, schemas.ReasonUnknownStatus},
		{12345, predictor.Transient, schemas.ReasonUnknownStatus},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			require.Equal(t, rule{tc.class, tc.reason}, classifyStatus(tc.code))
		})
	}
}

func TestClassifyOutputMakesCallFailuresInputFailures(t *testing.T) {
	require.Equal(t, rule{predictor.TransientInput, schemas.ReasonServerError}, classifyOutput(40032))
	require.Equal(t, rule{predictor.TransientInput, schemas.ReasonUnknownStatus}, classifyOutput(12345))
	require.Equal(t, rule{predictor.PermanentInput, schemas.ReasonInvalidInput}, classifyOutput(30104))
	require.Equal(t, rule{predictor.Permanent, schemas.ReasonModelNotFound}, classifyOutput(21200))
	require.Equal(t, rule{predictor.Account, schemas.ReasonAuthFailed}, classifyOutput(11007))
	require.Equal(t, rule{}, classifyOutput(10000))
}

func TestClassifyGRPC(t *testing.T) {
	tests := []struct {
		err    error
		class  predictor.Class
		reason string
	}{
		{status.Error(codes.Unavailable, "x"), predictor.Transient, schemas.ReasonTransportError},
		{status.Error(codes.DeadlineExceeded, "x"), predictor.Transient, schemas.ReasonTransportError},
		{fmt.Errorf("call: %w", context.DeadlineExceeded), predictor.Transient, schemas.ReasonTransportError},
		{status.Error(codes.ResourceExhausted, "grpc: received message larger than max"), predictor.Permanent, schemas.ReasonMessageTooLarge},
		{status.Error(codes.Unauthenticated, "x"), predictor.Account, schemas.ReasonAuthFailed},
		{status.Error(codes.PermissionDenied, "x"), predictor.Account, schemas.ReasonAuthFailed},
		{status.Error(codes.Unimplemented, "x"), predictor.Permanent, schemas.ReasonRequestInvalid},
		{status.Error(codes.Internal, "x"), predictor.Transient, schemas.ReasonTransportError},
		{errors.New("not a status"), predictor.Transient, schemas.ReasonTransportError},
	}
	for _, tc := range tests {
		t.Run(tc.err.Error(), func(t *testing.T) {
			require.Equal(t, rule{tc.class, tc.reason}, classifyGRPC(tc.err))
		})
	}
}
