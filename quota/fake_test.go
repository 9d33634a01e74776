package quota_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	pb "github.com/imgpredict/worker/predictor/clarifai/clarifaipb"
	sc "github.com/imgpredict/worker/predictor/clarifai/clarifaipb/statuspb"
	"github.com/imgpredict/worker/predictor/clarifai/clarifaitest"
)

// TestFakeHoldsTheQuota checks the judge of the quota benchmarks: the fake
// throttles a call exactly when the calls it let through in the second
// before number the quota.
func TestFakeHoldsTheQuota(t *testing.T) {
	const perSecond = 3
	fake := clarifaitest.NewServer()
	defer fake.Close()
	fake.EnforceQuota(perSecond)
	conn, err := grpc.NewClient(fake.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	v2 := pb.NewV2Client(conn)
	req := &pb.PostModelOutputsRequest{ModelId: "m", Inputs: []*pb.Input{{Id: "a"}}}
	for range 20 {
		resp, err := v2.PostModelOutputs(t.Context(), req)
		require.NoError(t, err)
		throttled := resp.GetStatus().GetCode() == sc.StatusCode_CONN_THROTTLED
		require.Equal(t, !throttled, len(resp.GetOutputs()) == 1, "a throttled call has no outputs")
	}

	calls := fake.QuotaCalls()
	require.Len(t, calls, 20)
	throttled := 0
	for i, c := range calls {
		passed := 0
		for _, d := range calls[:i] {
			if !d.Throttled && c.Time.Sub(d.Time) < time.Second {
				passed++
			}
		}
		if c.Throttled {
			throttled++
			require.Equal(t, perSecond, passed, "call %d is throttled only when the second before is full", i)
		} else {
			require.Less(t, passed, perSecond, "call %d passes only when the second before has room", i)
		}
	}
	require.Equal(t, throttled, fake.QuotaThrottled())
	require.False(t, calls[perSecond-1].Throttled)
}
