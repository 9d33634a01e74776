package clarifai

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/imgpredict/worker/predictor"

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
		{10020, predictor.Transient, ReasonServerError},
		{10030, predictor.Transient, ReasonServerError},
		{11000, predictor.Account, ReasonAccountIssue},
		{11001, predictor.Account, ReasonAuthFailed},
		{11002, predictor.Account, ReasonAuthFailed},
		{11003, predictor.Transient, ReasonThrottled},
		{11004, predictor.Account, ReasonQuotaExceeded},
		{11005, predictor.Transient, ReasonThrottled},
		{11006, predictor.Account, ReasonQuotaExceeded},
		{11007, predictor.Account, ReasonAuthFailed},
		{11008, predictor.Account, ReasonAuthFailed},
		{11009, predictor.Account, ReasonAuthFailed},
		{11103, predictor.Permanent, ReasonRequestInvalid},
		{11104, predictor.Account, ReasonAccountIssue},
		{11105, predictor.Permanent, ReasonRequestInvalid},
		{11200, predictor.Account, ReasonAuthFailed},
		{21200, predictor.Permanent, ReasonModelNotFound},
		{21201, predictor.Permanent, ReasonAuthFailed},
		{25601, predictor.Permanent, ReasonAuthFailed},
		{21313, predictor.Transient, ReasonPredictionFailed},
		{21351, predictor.Transient, ReasonModelUnavailable},
		{21353, predictor.Transient, ReasonModelUnavailable},
		{21354, predictor.Transient, ReasonModelUnavailable},
		{21355, predictor.Transient, ReasonModelUnavailable},
		{25604, predictor.Transient, ReasonServerError},
		{25900, predictor.Permanent, ReasonModelNotFound},
		{30002, predictor.PermanentInput, ReasonInputDownloadFailed},
		{30101, predictor.PermanentInput, ReasonUnsupportedFormat},
		{30104, predictor.PermanentInput, ReasonInvalidInput},
		{30105, predictor.PermanentInput, ReasonImageTooLarge},
		{30106, predictor.PermanentInput, ReasonInvalidInput},
		{39997, predictor.Transient, ReasonServerError},
		{40001, predictor.Permanent, ReasonRequestInvalid},
		{40030, predictor.Transient, ReasonThrottled},
		{40031, predictor.Transient, ReasonServerError},
		{40032, predictor.Transient, ReasonServerError},
		{40033, predictor.Permanent, ReasonMessageTooLarge},
		{40034, predictor.Transient, ReasonServerError},
		{40035, predictor.Transient, ReasonServerError},
		{41005, predictor.Transient, ReasonServerError},
		{46003, predictor.PermanentInput, ReasonUnsupportedFormat},
		{47103, predictor.PermanentInput, ReasonImageTooLarge},
		{47104, predictor.PermanentInput, ReasonUnsupportedFormat},
		{50001, predictor.Permanent, ReasonRequestInvalid},
		{60006, predictor.Account, ReasonQuotaExceeded},
		{62002, predictor.Permanent, ReasonRequestInvalid},
		{69000, predictor.Account, ReasonAccountIssue},
		{69001, predictor.Account, ReasonAccountIssue},
		{99005, predictor.Account, ReasonAccountIssue},
		{98017, predictor.Transient, ReasonServerError},
		{0, predictor.Transient, ReasonUnknownStatus},
		{12345, predictor.Transient, ReasonUnknownStatus},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			require.Equal(t, rule{tc.class, tc.reason}, classifyStatus(tc.code))
		})
	}
}

func TestClassifyOutputMakesCallFailuresInputFailures(t *testing.T) {
	require.Equal(t, rule{predictor.TransientInput, ReasonServerError}, classifyOutput(40032))
	require.Equal(t, rule{predictor.TransientInput, ReasonUnknownStatus}, classifyOutput(12345))
	require.Equal(t, rule{predictor.PermanentInput, ReasonInvalidInput}, classifyOutput(30104))
	require.Equal(t, rule{predictor.Permanent, ReasonModelNotFound}, classifyOutput(21200))
	require.Equal(t, rule{predictor.Account, ReasonAuthFailed}, classifyOutput(11007))
	require.Equal(t, rule{}, classifyOutput(10000))
}

func TestClassifyGRPC(t *testing.T) {
	tests := []struct {
		err    error
		class  predictor.Class
		reason string
	}{
		{status.Error(codes.Unavailable, "x"), predictor.Transient, ReasonTransportError},
		{status.Error(codes.DeadlineExceeded, "x"), predictor.Transient, ReasonTransportError},
		{fmt.Errorf("call: %w", context.DeadlineExceeded), predictor.Transient, ReasonTransportError},
		{status.Error(codes.ResourceExhausted, "grpc: received message larger than max"), predictor.Permanent, ReasonMessageTooLarge},
		{status.Error(codes.Unauthenticated, "x"), predictor.Account, ReasonAuthFailed},
		{status.Error(codes.PermissionDenied, "x"), predictor.Account, ReasonAuthFailed},
		{status.Error(codes.Unimplemented, "x"), predictor.Permanent, ReasonRequestInvalid},
		{status.Error(codes.Internal, "x"), predictor.Transient, ReasonTransportError},
		{errors.New("not a status"), predictor.Transient, ReasonTransportError},
	}
	for _, tc := range tests {
		t.Run(tc.err.Error(), func(t *testing.T) {
			require.Equal(t, rule{tc.class, tc.reason}, classifyGRPC(tc.err))
		})
	}
}
