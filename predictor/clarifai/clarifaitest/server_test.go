package clarifaitest_test

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/imgpredict/worker/predictor/clarifai/clarifaipb"
	sc "github.com/imgpredict/worker/predictor/clarifai/clarifaipb/statuspb"
	"github.com/imgpredict/worker/predictor/clarifai/clarifaitest"
)

// call sends one raw PostModelOutputs with the given input ids.
func call(t *testing.T, v2 pb.V2Client, auth string, ids ...string) (*pb.MultiOutputResponse, error) {
	t.Helper()
	req := &pb.PostModelOutputsRequest{ModelId: "m", UserAppId: &pb.UserAppIDSet{UserId: "u", AppId: "a"}}
	for _, id := range ids {
		req.Inputs = append(req.Inputs, &pb.Input{Id: id, Data: &pb.Data{Image: &pb.Image{Url: "https://x/" + id}}})
	}
	ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", auth)
	return v2.PostModelOutputs(ctx, req)
}

// dial connects a raw V2 client to srv for the test's duration.
func dial(t *testing.T, srv *clarifaitest.Server) pb.V2Client {
	t.Helper()
	conn, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return pb.NewV2Client(conn)
}

func TestServerScripts(t *testing.T) {
	srv := clarifaitest.NewServer()
	t.Cleanup(srv.Close)
	v2 := dial(t, srv)

	srv.RequirePAT("k")
	resp, err := call(t, v2, "Key wrong", "a")
	require.NoError(t, err, "auth errors are in-band")
	require.Equal(t, sc.StatusCode_CONN_KEY_INVALID, resp.GetStatus().GetCode())

	srv.Throttle(1)
	srv.FailCalls(1, sc.StatusCode_MODEL_LOADING)
	srv.FailCallsGRPC(1, codes.Unavailable)
	resp, _ = call(t, v2, "Key k", "a")
	require.Equal(t, sc.StatusCode_CONN_THROTTLED, resp.GetStatus().GetCode())
	require.Empty(t, resp.GetOutputs())
	resp, _ = call(t, v2, "Key k", "a")
	require.Equal(t, sc.StatusCode_MODEL_LOADING, resp.GetStatus().GetCode())
	_, err = call(t, v2, "Key k", "a")
	require.Equal(t, codes.Unavailable, status.Code(err))

	srv.FailInput("b", sc.StatusCode_INPUT_DOWNLOAD_FAILED, 1)
	resp, err = call(t, v2, "Key k", "a", "b")
	require.NoError(t, err)
	require.Equal(t, sc.StatusCode_MIXED_STATUS, resp.GetStatus().GetCode())
	require.Equal(t, "b", resp.GetOutputs()[1].GetInput().GetId())
	require.Equal(t, sc.StatusCode_INPUT_DOWNLOAD_FAILED, resp.GetOutputs()[1].GetStatus().GetCode())
	require.Len(t, resp.GetOutputs()[0].GetData().GetConcepts(), 3, "default payload")

	resp, _ = call(t, v2, "Key k", "a", "b")
	require.Equal(t, sc.StatusCode_SUCCESS, resp.GetStatus().GetCode(), "the input failure was for the first time only")

	require.Equal(t, 6, srv.Calls())
	require.Equal(t, 8, srv.Inputs())
	reqs := srv.Requests()
	require.Len(t, reqs, 6)
	require.Equal(t, "Key k", reqs[5].Authorization)
	require.Equal(t, []string{"a", "b"}, reqs[5].InputIDs)
	require.Equal(t, "m", reqs[5].ModelID)
}

func TestServerPayloads(t *testing.T) {
	require.Len(t, clarifaitest.Boxes(3).GetRegions(), 3)
	require.NotNil(t, clarifaitest.Boxes(1).GetRegions()[0].GetRegionInfo().GetBoundingBox())
	m := clarifaitest.Masks(2, 16).GetRegions()[1]
	require.NotEmpty(t, m.GetRegionInfo().GetMask().GetImage().GetBase64())
	require.Equal(t, "segment-1", m.GetData().GetConcepts()[0].GetName())

	e := clarifaitest.Embeddings(2, 4).GetEmbeddings()
	require.Len(t, e, 2)
	require.Equal(t, []float32{1, 1.25, 1.5, 1.75}, e[1].GetVector())
	require.Len(t, clarifaitest.Colors(9).GetColors(), 5, "the palette has 5")
	p := clarifaitest.Polygons(2, 6).GetRegions()[1]
	require.Len(t, p.GetRegionInfo().GetPolygon().GetPoints(), 6)
	require.Equal(t, "track-1", p.GetTrackId())
	k := clarifaitest.Keypoints(1, 5).GetRegions()[0].GetRegionInfo()
	require.NotNil(t, k.GetPoint())
	require.Len(t, k.GetKeypointLocations(), 5)
	require.Equal(t, pb.Point_NOT_PRESENT, k.GetKeypointLocations()[2].GetVisibility())
}

func TestServerStampsOutputs(t *testing.T) {
	srv := clarifaitest.NewServer()
	t.Cleanup(srv.Close)
	v2 := dial(t, srv)

	before := time.Now()
	resp, err := call(t, v2, "Key k", "a", "b")
	require.NoError(t, err)
	require.Equal(t, "fake-1-out-1", resp.GetOutputs()[1].GetId())
	require.WithinRange(t, resp.GetOutputs()[0].GetCreatedAt().AsTime(), before, time.Now())

	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	srv.SetOutputTime(at)
	resp, err = call(t, v2, "Key k", "a")
	require.NoError(t, err)
	require.Equal(t, "fake-2-out-0", resp.GetOutputs()[0].GetId())
	require.Equal(t, at, resp.GetOutputs()[0].GetCreatedAt().AsTime())
}

func TestNewServerOnServesTheGivenListener(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := clarifaitest.NewServerOn(lis)
	t.Cleanup(srv.Close)
	require.Equal(t, lis.Addr().String(), srv.Addr())

	resp, err := call(t, dial(t, srv), "Key any", "a")
	require.NoError(t, err)
	require.Equal(t, sc.StatusCode_SUCCESS, resp.GetStatus().GetCode())
}
