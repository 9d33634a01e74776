package predictor_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/predictor"
)

func TestAccountIsHeldNotRetried(t *testing.T) {
	account := fmt.Errorf("predict: %w", &predictor.Error{Class: predictor.Account, Code: 11007, Reason: "auth_failed"})
	tests := []struct {
		err                error
		transient, account bool
	}{
		{account, false, true},
		{&predictor.Error{Class: predictor.Transient}, true, false},
		{&predictor.Error{Class: predictor.TransientInput}, true, false},
		{&predictor.Error{Class: predictor.Permanent}, false, false},
		{&predictor.Error{Class: predictor.PermanentInput}, false, false},
		{context.Canceled, true, false},
		{errors.New("unclassified"), true, false},
		{nil, false, false},
	}
	for _, tc := range tests {
		require.Equal(t, tc.transient, predictor.IsTransient(tc.err), "IsTransient(%v)", tc.err)
		require.Equal(t, tc.account, predictor.IsAccount(tc.err), "IsAccount(%v)", tc.err)
	}
	require.Equal(t, "auth_failed (account, code 11007)", errors.Unwrap(account).Error())
}
