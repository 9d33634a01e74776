package samplegen_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/predictor/local/samplegen"
)

var update = flag.Bool("update", false, "rewrite the bundled samples")

// bundled is testdata/samples at the repository root.
var bundled = filepath.Join("..", "..", "..", "testdata", "samples")

func TestBundledSamplesUpToDate(t *testing.T) {
	if *update {
		require.NoError(t, samplegen.WriteDir(bundled))
	}
	samples, err := samplegen.All()
	require.NoError(t, err)
	total := 0
	for _, s := range samples {
		got, err := os.ReadFile(filepath.Join(bundled, s.Name))
		require.NoError(t, err, "run go generate ./predictor/local/samplegen")
		require.Equal(t, s.Data, got, "%s differs from what samplegen draws; run go generate ./predictor/local/samplegen", s.Name)
		total += len(got)
	}
	require.Less(t, total, 200<<10, "the samples stay small")
}
