package local_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/imageprep"
	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/predictor/local"
	"github.com/imgpredict/worker/schemas"
)

// Download failures of the shared fetcher become the dead-letter reasons
// and Clarifai codes the offline predictor has always answered with.
func TestPredictClassifiesDownloadFailures(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(make([]byte, 2000))
	}))
	t.Cleanup(srv.Close)

	p := newPredictor(t, local.Config{Fetch: local.FetchConfig{MaxBytes: 1000}})
	pe := predictErr(t, p, predictor.Input{ID: "big", URL: srv.URL + "/big.png"})
	require.Equal(t, schemas.ReasonImageTooLarge, pe.Reason)
	require.Equal(t, uint32(30105), pe.Code)
	require.ErrorIs(t, pe, local.ErrTooLarge)

	guarded, err := local.New(local.Config{}, zerolog.Nop())
	require.NoError(t, err)
	pe = predictErr(t, guarded, predictor.Input{ID: "private", URL: srv.URL + "/a.png"})
	require.Equal(t, schemas.ReasonInputDownloadFailed, pe.Reason)
	require.Equal(t, uint32(30002), pe.Code)
	require.ErrorIs(t, pe, imageprep.ErrPrivateAddress)
}
