package predictor

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestClassifyStatus(t *testing.T) {
	tests := []struct {
		code   uint32
		class  Class
		reason string
	}{
		{10000, 0, ""},
		{10020, Transient, ReasonServerError},
		{10030, Transient, ReasonServerError},
		{11001, Permanent, ReasonAuthFailed},
		{11002, Permanent, ReasonAuthFailed},
		{11003, Transient, ReasonThrottled},
		{11004, Permanent, ReasonQuotaExceeded},
		{11005, Transient, ReasonThrottled},
		{11006, Permanent, ReasonQuotaExceeded},
		{11007, Permanent, ReasonAuthFailed},
		{11008, Permanent, ReasonAuthFailed},
		{11009, Permanent, ReasonAuthFailed},
		{21200, Permanent, ReasonModelNotFound},
		{21313, Transient, ReasonPredictionFailed},
		{21351, Transient, ReasonModelUnavailable},
		{21353, Transient, ReasonModelUnavailable},
		{21354, Transient, ReasonModelUnavailable},
		{21355, Transient, ReasonModelUnavailable},
		{25604, Transient, ReasonServerError},
		{25900, Permanent, ReasonModelNotFound},
		{30002, PermanentInput, ReasonInputDownloadFailed},
		{30101, PermanentInput, ReasonUnsupportedFormat},
		{30104, PermanentInput, ReasonInvalidInput},
		{30105, PermanentInput, ReasonImageTooLarge},
		{30106, PermanentInput, ReasonInvalidInput},
		{39997, Transient, ReasonServerError},
		{40001, Permanent, ReasonRequestInvalid},
		{40030, Transient, ReasonThrottled},
		{40031, Transient, ReasonServerError},
		{40032, Transient, ReasonServerError},
		{40033, Permanent, ReasonMessageTooLarge},
		{40034, Transient, ReasonServerError},
		{40035, Transient, ReasonServerError},
		{41005, Transient, ReasonServerError},
		{46003, PermanentInput, ReasonUnsupportedFormat},
		{47103, PermanentInput, ReasonImageTooLarge},
		{47104, PermanentInput, ReasonUnsupportedFormat},
		{98017, Transient, ReasonServerError},
		{0, Transient, ReasonUnknownStatus},
		{12345, Transient, ReasonUnknownStatus},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			require.Equal(t, rule{tc.class, tc.reason}, classifyStatus(tc.code))
		})
	}
}

func TestClassifyOutputMakesCallFailuresInputFailures(t *testing.T) {
	require.Equal(t, rule{TransientInput, ReasonServerError}, classifyOutput(40032))
	require.Equal(t, rule{TransientInput, ReasonUnknownStatus}, classifyOutput(12345))
	require.Equal(t, rule{PermanentInput, ReasonInvalidInput}, classifyOutput(30104))
	require.Equal(t, rule{Permanent, ReasonModelNotFound}, classifyOutput(21200))
	require.Equal(t, rule{}, classifyOutput(10000))
}

func TestClassifyGRPC(t *testing.T) {
	tests := []struct {
		err    error
		class  Class
		reason string
	}{
		{status.Error(codes.Unavailable, "x"), Transient, ReasonTransportError},
		{status.Error(codes.DeadlineExceeded, "x"), Transient, ReasonTransportError},
		{fmt.Errorf("call: %w", context.DeadlineExceeded), Transient, ReasonTransportError},
		{status.Error(codes.ResourceExhausted, "grpc: received message larger than max"), Permanent, ReasonMessageTooLarge},
		{status.Error(codes.Unauthenticated, "x"), Permanent, ReasonAuthFailed},
		{status.Error(codes.Unimplemented, "x"), Permanent, ReasonRequestInvalid},
		{status.Error(codes.Internal, "x"), Transient, ReasonTransportError},
		{errors.New("not a status"), Transient, ReasonTransportError},
	}
	for _, tc := range tests {
		t.Run(tc.err.Error(), func(t *testing.T) {
			require.Equal(t, rule{tc.class, tc.reason}, classifyGRPC(tc.err))
		})
	}
}
