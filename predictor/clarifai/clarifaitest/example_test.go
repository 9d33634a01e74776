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

// Scripted payloads: an embedder and a colour model that echo no input
// ids; the client matches their outputs by request order.
func Example_payloads() {
	srv := clarifaitest.NewServer()
	defer srv.Close()
	srv.SetPayload("embedder", clarifaitest.Embeddings(1, 4))
	srv.SetPayload("colors", clarifaitest.Colors(2))
	srv.OmitInputIDs(true)
	srv.SetOutputTime(time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC))

	client, err := clarifai.NewClient(clarifai.ClientConfig{
		Endpoint: srv.Addr(), Insecure: true, PAT: "test-pat", Version: "1.2.3",
	}, zerolog.Nop())
	if err != nil {
		panic(err)
	}
	defer client.Close()

	in := []predictor.Input{{ID: "cat.jpg", URL: "https://example.com/cat.jpg"}}
	for _, model := range []string{"embedder", "colors"} {
		out := client.Predict(context.Background(), predictor.Request{
			Model: predictor.Model{UserID: "clarifai", AppID: "main", ID: model}, Inputs: in,
		})
		p := out[0].Prediction
		fmt.Println(model, p.OutputID, p.CreatedAt.Format(time.RFC3339), p.Embeddings, p.Colors)
	}
	fmt.Println(srv.Requests()[0].Metadata.Get("x-clarifai-request-id-prefix"))
	// Output:
	// embedder fake-1-out-0 2026-05-04T12:00:00Z [{[0 0.25 0.5 0.75] 4}] []
	// colors fake-2-out-0 2026-05-04T12:00:00Z [] [{#f0ead6 #faebd7 AntiqueWhite 0.5} {#1a2b3c #2f4f4f DarkSlateGray 0.25}]
	// [image-worker-1.2.3]
}
