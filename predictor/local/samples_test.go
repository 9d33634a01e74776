package local_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/predictor/local"
	"github.com/imgpredict/worker/predictor/local/samplegen"
)

func TestBundledSamples(t *testing.T) {
	samples, err := samplegen.All()
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(samples), 8)
	inputs := make([]predictor.Input, len(samples))
	for i, s := range samples {
		inputs[i] = predictor.Input{ID: s.Name, Bytes: s.Data}
	}
	out := newPredictor(t, local.Config{}).Predict(t.Context(), predictor.Request{Inputs: inputs})
	for i, s := range samples {
		require.NoError(t, out[i].Err, s.Name)
		var names []string
		for _, c := range colorConcepts(out[i].Prediction) {
			names = append(names, c.Name)
		}
		t.Logf("%s: %v", s.Name, out[i].Prediction.Concepts)
		{
			require.ElementsMatch(t, s.Colors, names, s.Name)
		}
		require.Len(t, out[i].Prediction.Regions, len(names), s.Name)
	}
}
