package local_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"golang.org/x/image/colornames"

	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/predictor/local"
)

func TestPredictKeepsInputOrder(t *testing.T) {
	palette := []color.RGBA{red, blue, green, white, black}
	mux := http.NewServeMux()
	var inputs []predictor.Input
	for i := range 25 {
		c := palette[i%len(palette)]
		data := encode(t, canvas(20+i, 20, c), []string{"png", "gif", "jpeg"}[i%3])
		id := fmt.Sprintf("in-%02d", i)
		if i%2 == 0 {
			inputs = append(inputs, predictor.Input{ID: id, Bytes: data})
			continue
		}
		mux.HandleFunc("/"+id, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(data) })
		inputs = append(inputs, predictor.Input{ID: id, URL: "/" + id})
	}
	inputs = append(inputs, predictor.Input{ID: "corrupt", Bytes: []byte("not an image at all")}, predictor.Input{ID: "missing", URL: "/nope"})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	for i := range inputs {
		if inputs[i].URL != "" {
			inputs[i].URL = srv.URL + inputs[i].URL
		}
	}

	p := newPredictor(t, local.Config{Workers: 3})
	out := p.Predict(t.Context(), predictor.Request{Inputs: inputs})
	require.Len(t, out, len(inputs))
	reqIDs := map[string]bool{}
	for i, o := range out[:25] {
		require.Equal(t, inputs[i].ID, o.InputID)
		require.NoError(t, o.Err, o.InputID)
		want := colornameOf(palette[i%len(palette)])
		require.Equal(t, "color-"+want, colorConcepts(o.Prediction)[0].ID, o.InputID)
		reqIDs[o.Prediction.Status.ReqID] = true
	}
	require.Len(t, reqIDs, 1, "one request id per Predict call")

	require.Equal(t, "corrupt", out[25].InputID)
	requireFetchErr(t, out[25].Err, "unsupported_format")
	require.Equal(t, "missing", out[26].InputID)
	requireFetchErr(t, out[26].Err, "input_download_failed")

	again := p.Predict(t.Context(), predictor.Request{Inputs: inputs[:1]})
	require.False(t, reqIDs[again[0].Prediction.Status.ReqID], "a new call gets a new request id")
}

// TestColorsFromClusters: each colour cluster is also a Color: its mean
// colour raw, the CSS keyword it is named after as the W3C colour, its
// share as the value, largest first.
func TestColorsFromClusters(t *testing.T) {
	img := canvas(100, 50, white)
	fillRect(img, image.Rect(0, 0, 40, 50), color.RGBA{200, 30, 30, 255}) // no keyword's colour
	p := newPredictor(t, local.Config{})
	pred := predictBytes(t, p, encode(t, img, "png"), predictor.OutputConfig{})

	require.Len(t, pred.Colors, 2)
	require.Equal(t, predictor.Color{RawHex: "#ffffff", W3CHex: "#ffffff", W3CName: "white", Value: 0.6}, pred.Colors[0])
	c := pred.Colors[1]
	require.Equal(t, "#c81e1e", c.RawHex)
	require.Equal(t, float32(0.4), c.Value)
	kw, ok := colornames.Map[c.W3CName]
	require.True(t, ok, "%q is not a CSS keyword", c.W3CName)
	require.Equal(t, fmt.Sprintf("#%02x%02x%02x", kw.R, kw.G, kw.B), c.W3CHex)
	require.Contains(t, pred.Concepts, predictor.Concept{ID: "color-" + c.W3CName, Name: c.W3CName, Value: c.Value})
}

func colornameOf(c color.RGBA) string {
	switch c {
	case red:
		return "red"
	case blue:
		return "blue"
	case green:
		return "green"
	case white:
		return "white"
	}
	return "black"
}

func colorConcepts(pred *predictor.Prediction) []predictor.Concept {
	var out []predictor.Concept
	for _, c := range pred.Concepts {
		if strings.HasPrefix(c.ID, "color-") {
			out = append(out, c)
		}
	}
	return out
}

func TestPredictCancelReturnsPromptly(t *testing.T) {
	var started atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		started.Add(1)
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	inputs := make([]predictor.Input, 50)
	for i := range inputs {
		inputs[i] = predictor.Input{ID: fmt.Sprint(i), URL: fmt.Sprintf("%s/%d.png", srv.URL, i)}
	}
	p := newPredictor(t, local.Config{Workers: 4})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan []predictor.Outcome)
	go func() { done <- p.Predict(ctx, predictor.Request{Inputs: inputs}) }()
	require.Eventually(t, func() bool { return started.Load() == 4 }, 5*time.Second, 5*time.Millisecond)

	cancel()
	select {
	case out := <-done:
		require.Len(t, out, len(inputs))
		for i, o := range out {
			require.Equal(t, inputs[i].ID, o.InputID)
			require.ErrorIs(t, o.Err, context.Canceled, "input %d", i)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Predict did not return within 2s of cancellation")
	}
	require.Equal(t, int32(4), started.Load(), "no download starts after cancellation")
}

func TestOutputConfig(t *testing.T) {
	img := stripes(300, 200, red, red, red, blue, blue, white) // 50% red, 33% blue, 17% white
	data := encode(t, img, "png")
	p := newPredictor(t, local.Config{})
	ids := func(pred *predictor.Prediction) (concepts, regions []string) {
		for _, c := range pred.Concepts {
			concepts = append(concepts, c.ID)
		}
		for _, r := range pred.Regions {
			regions = append(regions, r.Concepts[0].ID)
		}
		return concepts, regions
	}
	tests := []struct {
		name         string
		oc           predictor.OutputConfig
		concepts     []string
		regionColors []string
	}{
		{"defaults", predictor.OutputConfig{}, []string{"landscape", "colorful", "color-red", "color-blue", "color-white"}, []string{"color-red", "color-blue", "color-white"}},
		{"max concepts", predictor.OutputConfig{MaxConcepts: 3}, []string{"landscape", "colorful", "color-red"}, []string{"color-red", "color-blue", "color-white"}},
		{"min value", predictor.OutputConfig{MinValue: 0.3}, []string{"landscape", "colorful", "color-red", "color-blue"}, []string{"color-red", "color-blue"}},
		{"select by id", predictor.OutputConfig{SelectConcepts: []predictor.ConceptRef{{ID: "color-white"}, {ID: "color-blue"}}}, []string{"color-blue", "color-white"}, []string{"color-blue", "color-white"}},
		{"select by name", predictor.OutputConfig{SelectConcepts: []predictor.ConceptRef{{Name: "red"}, {Name: "square"}}}, []string{"color-red"}, []string{"color-red"}},
		{"select and min", predictor.OutputConfig{SelectConcepts: []predictor.ConceptRef{{ID: "color-white"}, {Name: "blue"}}, MinValue: 0.2}, []string{"color-blue"}, []string{"color-blue"}},
		{"select unknown", predictor.OutputConfig{SelectConcepts: []predictor.ConceptRef{{ID: "color-purple"}}}, nil, nil},
		{"a name is not an id", predictor.OutputConfig{SelectConcepts: []predictor.ConceptRef{{ID: "red"}, {Name: "color-blue"}}}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			concepts, regions := ids(predictBytes(t, p, data, tt.oc))
			require.Equal(t, tt.concepts, concepts)
			require.Equal(t, tt.regionColors, regions)
		})
	}
}

func TestReadyReturnsAtOnce(t *testing.T) {
	p := newPredictor(t, local.Config{})
	require.NoError(t, p.Ready(t.Context()))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.ErrorIs(t, p.Ready(ctx), context.Canceled)
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		cfg     local.Config
		setting string
	}{
		{local.Config{Workers: -1}, "Workers"},
		{local.Config{Colors: 100}, "Colors"},
		{local.Config{MinShare: 1.5}, "MinShare"},
		{local.Config{SampleSize: 2}, "SampleSize"},
		{local.Config{MaskSize: 5000}, "MaskSize"},
		{local.Config{MaxPixels: -1}, "MaxPixels"},
		{local.Config{Fetch: local.FetchConfig{ConnectTimeout: -time.Second}}, "ConnectTimeout"},
	}
	for _, tt := range tests {
		_, err := local.New(tt.cfg, zerolog.Nop())
		require.ErrorIs(t, err, local.ErrInvalidConfig)
		require.Contains(t, err.Error(), tt.setting)
	}
}
