package clarifai

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/schemas"

	pb "github.com/imgpredict/worker/predictor/clarifai/clarifaipb"
	sc "github.com/imgpredict/worker/predictor/clarifai/clarifaipb/statuspb"
)

// TestMapResponseMatching: ids first; position only for outputs that name
// no input of ours, in a response with one output per input whose matched
// outputs all sit at their own places; never one output for two inputs.
func TestMapResponseMatching(t *testing.T) {
	req := &predictor.Request{Inputs: []predictor.Input{{ID: "a"}, {ID: "b"}, {ID: "c"}}}
	// respond gives output j the echoed input id ids[j] and the concept
	// "out<j>", so that the test sees which output each input got.
	respond := func(ids ...string) *pb.MultiOutputResponse {
		resp := &pb.MultiOutputResponse{Status: &sc.Status{Code: sc.StatusCode_SUCCESS}}
		for j, id := range ids {
			resp.Outputs = append(resp.Outputs, &pb.Output{
				Status: &sc.Status{Code: sc.StatusCode_SUCCESS},
				Input:  &pb.Input{Id: id},
				Data:   &pb.Data{Concepts: []*pb.Concept{{Id: "out" + string(rune('0'+j))}}},
			})
		}
		return resp
	}
	const missing, twice = "missing", "twice"
	for _, tc := range []struct {
		name string
		ids  []string
		want []string // per input: the output it got, or missing / twice
	}{
		{"ids in order", []string{"a", "b", "c"}, []string{"out0", "out1", "out2"}},
		{"ids shuffled", []string{"c", "a", "b"}, []string{"out1", "out2", "out0"}},
		{"no ids: by position", []string{"", "", ""}, []string{"out0", "out1", "out2"}},
		{"ids we did not send: by position", []string{"x", "y", "z"}, []string{"out0", "out1", "out2"}},
		{"some ids, in order: the rest by position", []string{"a", "", "c"}, []string{"out0", "out1", "out2"}},
		{"some ids out of place: no position", []string{"b", "a", ""}, []string{"out1", "out0", missing}},
		{"fewer outputs: no position", []string{"", ""}, []string{missing, missing, missing}},
		{"more outputs: no position", []string{"", "", "", ""}, []string{missing, missing, missing}},
		{"an id twice", []string{"a", "a", "c"}, []string{twice, missing, "out2"}},
		{"an id twice, the other without id", []string{"a", "", "a"}, []string{twice, missing, missing}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := make([]result, 3)
			require.Nil(t, mapResponse(respond(tc.ids...), req, []int{0, 1, 2}, res))
			for k, w := range tc.want {
				switch w {
				case missing:
					require.Equal(t, schemas.ReasonOutputMissing, res[k].err.Reason, "input %d", k)
				case twice:
					require.Equal(t, schemas.ReasonOutputDuplicate, res[k].err.Reason, "input %d", k)
				default:
					require.NotNil(t, res[k].pred, "input %d: %v", k, res[k].err)
					require.Equal(t, w, res[k].pred.Concepts[0].ID, "input %d", k)
				}
			}
		})
	}
}
