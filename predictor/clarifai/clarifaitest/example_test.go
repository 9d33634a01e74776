package clarifaitest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/predictor/clarifai"
	sc "github.com/imgpredict/worker/predictor/clarifai/clarifaipb/statuspb"
	"github.com/imgpredict/worker/predictor/clarifai/clarifaitest"
)

// A clarifai.Client pointed at the fake server: the first call is
// throttled and retried, one input fails for good.
func Example() {
	srv := clarifaitest.NewServer()
	defer srv.Close()
	srv.Throttle(1)
	srv.FailInput("broken", sc.StatusCode_INPUT_UNSUPPORTED_FORMAT, 0)
	srv.SetPayload("detector", clarifaitest.Boxes(2))

	client, err := clarifai.NewClient(clarifai.ClientConfig{
		Endpoint:      srv.Addr(),
		Insecure:      true,
		PAT:           "test-pat",
		RetryInitial:  10 * time.Millisecond,
		ThrottlePause: 10 * time.Millisecond,
	}, zerolog.Nop())
	if err != nil {
		panic(err)
	}
	defer client.Close()

	out := client.Predict(context.Background(), predictor.Request{
		Model: predictor.Model{UserID: "clarifai", AppID: "main", ID: "detector"},
		Inputs: []predictor.Input{
			{ID: "cat.jpg", URL: "https://example.com/cat.jpg"},
			{ID: "broken", URL: "https://example.com/broken.tiff"},
		},
	})
	for _, o := range out {
		if o.Err != nil {
			fmt.Println(o.InputID, "failed:", o.Err)
			continue
		}
		fmt.Println(o.InputID, "has", len(o.Prediction.Regions), "regions")
	}
	for _, r := range srv.Requests() {
		fmt.Println("call with", r.InputIDs, "authorization", r.Authorization)
	}
	// Output:
	// cat.jpg has 2 regions
	// broken failed: unsupported_format (permanent_input, code 30101): clarifaitest: scripted input failure
	// call with [cat.jpg broken] authorization Key test-pat
	// call with [cat.jpg broken] authorization Key test-pat
}
