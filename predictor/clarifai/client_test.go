package clarifai_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/predictor/clarifai"
	pb "github.com/imgpredict/worker/predictor/clarifai/clarifaipb"
	sc "github.com/imgpredict/worker/predictor/clarifai/clarifaipb/statuspb"
	"github.com/imgpredict/worker/predictor/clarifai/clarifaitest"
	"github.com/imgpredict/worker/schemas"
)

const testPAT = "pat-5ecret-do-not-log-91f3"

// syncBuffer collects log lines from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type testEnv struct {
	srv    *clarifaitest.Server
	client *clarifai.Client
	logs   *syncBuffer
	reg    *prometheus.Registry
}

// newEnv starts a fake server and a client with fast retries; change
// tunes the config before the client is built.
func newEnv(t *testing.T, change func(*clarifai.ClientConfig)) *testEnv {
	t.Helper()
	srv := clarifaitest.NewServer()
	t.Cleanup(srv.Close)
	env := &testEnv{srv: srv, logs: &syncBuffer{}, reg: prometheus.NewRegistry()}
	cfg := clarifai.ClientConfig{
		Endpoint:        srv.Addr(),
		Insecure:        true,
		PAT:             testPAT,
		CallTimeout:     5 * time.Second,
		RateLimit:       1000,
		RetryInitial:    10 * time.Millisecond,
		RetryMax:        50 * time.Millisecond,
		RetryMaxElapsed: 2 * time.Second,
		ThrottlePause:   20 * time.Millisecond,
		Registerer:      env.reg,
	}
	if change != nil {
		change(&cfg)
	}
	log := zerolog.New(env.logs).Level(zerolog.DebugLevel)
	c, err := clarifai.NewClient(cfg, log)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	env.client = c
	return env
}

var testModel = predictor.Model{UserID: "clarifai", AppID: "main", ID: "general-image-recognition"}

func inputs(n int) []predictor.Input {
	in := make([]predictor.Input, n)
	for i := range in {
		in[i] = predictor.Input{ID: fmt.Sprintf("evt-%03d", i), URL: fmt.Sprintf("https://img.example/%d.jpg", i)}
	}
	return in
}

func requireError(t *testing.T, o predictor.Outcome, class predictor.Class, reason string) *predictor.Error {
	t.Helper()
	require.Nil(t, o.Prediction, "input %s", o.InputID)
	var pe *predictor.Error
	require.ErrorAs(t, o.Err, &pe, "input %s", o.InputID)
	require.Equal(t, class, pe.Class, "input %s: %v", o.InputID, pe)
	require.Equal(t, reason, pe.Reason, "input %s: %v", o.InputID, pe)
	return pe
}

func batchSizes(srv *clarifaitest.Server) []int {
	var sizes []int
	for _, r := range srv.Requests() {
		sizes = append(sizes, len(r.InputIDs))
	}
	slices.Sort(sizes)
	return sizes
}

func TestPredictShuffledOutputsLandOnTheirInputs(t *testing.T) {
	env := newEnv(t, nil)
	env.srv.Shuffle(true)
	env.srv.EchoInputIDs(true)
	in := inputs(300)

	out := env.client.Predict(t.Context(), predictor.Request{Model: testModel, Inputs: in})

	require.Len(t, out, len(in))
	for i, o := range out {
		require.NoError(t, o.Err)
		require.Equal(t, in[i].ID, o.InputID)
		require.Equal(t, in[i].ID, o.Prediction.Concepts[0].ID, "output of another input landed on %s", in[i].ID)
		require.Equal(t, testModel.ID, o.Prediction.Model.ID)
		require.NotEmpty(t, o.Prediction.Status.ReqID)
	}
}

// TestEveryReturnedFieldArrives: embeddings, colours, polygons, points,
// keypoints with their visibility, track ids and the output's id and time
// all reach the Prediction.
func TestEveryReturnedFieldArrives(t *testing.T) {
	env := newEnv(t, nil)
	at := time.Date(2026, 3, 1, 12, 30, 15, 250_000_000, time.UTC)
	env.srv.SetOutputTime(at)
	payload := clarifaitest.Embeddings(2, 8)
	payload.Colors = clarifaitest.Colors(3).GetColors()
	payload.Regions = append(clarifaitest.Polygons(1, 5).GetRegions(), clarifaitest.Keypoints(1, 4).GetRegions()...)
	env.srv.SetPayload(testModel.ID, payload)

	out := env.client.Predict(t.Context(), predictor.Request{Model: testModel, Inputs: inputs(3)})

	for k, o := range out {
		require.NoError(t, o.Err)
		p := o.Prediction
		require.Equal(t, fmt.Sprintf("fake-1-out-%d", k), p.OutputID)
		require.True(t, at.Equal(p.CreatedAt), "created_at %s", p.CreatedAt)

		require.Len(t, p.Embeddings, 2)
		require.Equal(t, uint32(8), p.Embeddings[1].NumDimensions)
		require.Equal(t, []float32{1, 1.125, 1.25, 1.375, 1.5, 1.625, 1.75, 1.875}, p.Embeddings[1].Vector)

		require.Equal(t, []predictor.Color{
			{RawHex: "#f0ead6", W3CHex: "#faebd7", W3CName: "AntiqueWhite", Value: 0.5},
			{RawHex: "#1a2b3c", W3CHex: "#2f4f4f", W3CName: "DarkSlateGray", Value: 0.25},
			{RawHex: "#c0392b", W3CHex: "#b22222", W3CName: "FireBrick", Value: 0.5 / 3},
		}, p.Colors)

		require.Len(t, p.Regions, 2)
		poly := p.Regions[0]
		require.Equal(t, "track-0", poly.TrackID)
		require.Len(t, poly.Polygon, 5)
		require.InDelta(t, 0.5, poly.Polygon[0].Row, 1e-6)
		require.InDelta(t, 0.9, poly.Polygon[0].Col, 1e-6)
		require.Nil(t, poly.Point)
		require.Nil(t, poly.Box)

		pose := p.Regions[1]
		require.Equal(t, "track-0", pose.TrackID)
		require.Equal(t, &predictor.Point{Row: 0.5, Col: 0.5, Z: 0.5, Visibility: predictor.VisibilityVisible}, pose.Point)
		require.NotNil(t, pose.Box)
		require.Equal(t, []predictor.Point{
			{Row: 0.2, Col: 0.8, Visibility: predictor.VisibilityVisible},
			{Row: 0.4, Col: 0.6, Visibility: predictor.VisibilityNotVisible},
			{Row: 0.6, Col: 0.4, Visibility: predictor.VisibilityNotPresent},
			{Row: 0.8, Col: 0.2},
		}, pose.Keypoints)
		require.Equal(t, "person", pose.Concepts[0].Name)
	}
}

// TestOutputsWithoutInputIDsMatchByPosition: a model that echoes no input
// id still gives every input its own output, by request order.
func TestOutputsWithoutInputIDsMatchByPosition(t *testing.T) {
	env := newEnv(t, nil)
	env.srv.OmitInputIDs(true)
	env.srv.EchoInputIDs(true)
	in := inputs(300)

	out := env.client.Predict(t.Context(), predictor.Request{Model: testModel, Inputs: in})

	for i, o := range out {
		require.NoError(t, o.Err)
		require.Equal(t, in[i].ID, o.Prediction.Concepts[0].ID, "output of another input landed on %s", in[i].ID)
	}
	require.Equal(t, 3, env.srv.Calls(), "nothing retried")
}

func TestPredictSplitsIntoCallsOfAtMostMaxBatch(t *testing.T) {
	t.Run("default 128", func(t *testing.T) {
		env := newEnv(t, nil)
		out := env.client.Predict(t.Context(), predictor.Request{Model: testModel, Inputs: inputs(300)})
		require.Len(t, out, 300)
		require.Equal(t, []int{44, 128, 128}, batchSizes(env.srv))
	})
	t.Run("lower cap", func(t *testing.T) {
		env := newEnv(t, func(c *clarifai.ClientConfig) { c.MaxBatch = 50 })
		env.client.Predict(t.Context(), predictor.Request{Model: testModel, Inputs: inputs(120)})
		require.Equal(t, []int{20, 50, 50}, batchSizes(env.srv))
	})
}

// TestPredictSplitsByBytesBeforeCount: image bytes cut calls before the
// count limit does, and an input over the budget goes alone.
func TestPredictSplitsByBytesBeforeCount(t *testing.T) {
	const kib = 1 << 10
	sized := func(ids string, sizes ...int) []predictor.Input {
		in := make([]predictor.Input, len(sizes))
		for i, n := range sizes {
			in[i] = predictor.Input{ID: fmt.Sprintf("%s-%d", ids, i), Bytes: bytes.Repeat([]byte{0xff}, n)}
		}
		return in
	}
	env := newEnv(t, func(c *clarifai.ClientConfig) { c.MaxCallBytes = 1000 * kib })

	in := sized("even", 300*kib, 300*kib, 300*kib, 300*kib, 300*kib, 300*kib, 300*kib)
	out := env.client.Predict(t.Context(), predictor.Request{Model: testModel, Inputs: in})
	for _, o := range out {
		require.NoError(t, o.Err)
	}
	require.Equal(t, []int{1, 3, 3}, batchSizes(env.srv))

	in = sized("big", 100*kib, 2000*kib, 100*kib, 100*kib)
	out = env.client.Predict(t.Context(), predictor.Request{Model: testModel, Inputs: in})
	for _, o := range out {
		require.NoError(t, o.Err, "an input over the budget is still predicted")
	}
	var calls [][]string
	for _, r := range env.srv.Requests()[3:] {
		calls = append(calls, r.InputIDs)
	}
	require.ElementsMatch(t, [][]string{{"big-0"}, {"big-1"}, {"big-2", "big-3"}}, calls)
}

func TestPredictSendsModelAndAuthorization(t *testing.T) {
	env := newEnv(t, nil)
	env.srv.RequirePAT(testPAT)
	m := predictor.Model{UserID: "u", AppID: "a", ID: "m", VersionID: "v"}
	out := env.client.Predict(t.Context(), predictor.Request{Model: m, Inputs: inputs(2)})
	require.NoError(t, out[0].Err)
	require.NoError(t, out[1].Err)

	reqs := env.srv.Requests()
	require.Len(t, reqs, 1)
	require.Equal(t, "Key "+testPAT, reqs[0].Authorization)
	require.Equal(t, []string{"u", "a", "m", "v"}, []string{reqs[0].UserID, reqs[0].AppID, reqs[0].ModelID, reqs[0].VersionID})
	require.Equal(t, []string{"evt-000", "evt-001"}, reqs[0].InputIDs)
	require.Equal(t, []string{"image-worker-dev"}, reqs[0].Metadata.Get("x-clarifai-request-id-prefix"))
}

func TestEveryCallNamesTheWorkerVersion(t *testing.T) {
	env := newEnv(t, func(c *clarifai.ClientConfig) { c.Version = "1.7.2" })
	env.srv.FailInput("evt-001", sc.StatusCode_RPC_REQUEST_TIMEOUT, 1)
	out := env.client.Predict(t.Context(), predictor.Request{Model: testModel, Inputs: inputs(2)})
	require.NoError(t, out[1].Err)

	reqs := env.srv.Requests()
	require.Len(t, reqs, 2, "the retry too")
	for _, r := range reqs {
		require.Equal(t, []string{"image-worker-1.7.2"}, r.Metadata.Get("x-clarifai-request-id-prefix"))
	}
}

// TestOutputConfigReachesClarifai: the overrides go where current clients
// put them, and each selected concept, by id or by name, has value 1.
func TestOutputConfigReachesClarifai(t *testing.T) {
	env := newEnv(t, nil)
	oc := predictor.OutputConfig{MaxConcepts: 7, MinValue: 0.25,
		SelectConcepts: []predictor.ConceptRef{{ID: "ai_mFqxrLzq"}, {Name: "dog"}}}
	out := env.client.Predict(t.Context(), predictor.Request{Model: testModel, OutputConfig: oc, Inputs: inputs(2)})
	require.NoError(t, out[0].Err)

	got := env.srv.Requests()[0].OutputConfig
	require.Equal(t, uint32(7), got.GetMaxConcepts())
	require.InDelta(t, 0.25, got.GetMinValue(), 1e-6)
	sel := got.GetSelectConcepts()
	require.Len(t, sel, 2)
	require.Equal(t, []string{"ai_mFqxrLzq", ""}, []string{sel[0].GetId(), sel[0].GetName()})
	require.Equal(t, []string{"", "dog"}, []string{sel[1].GetId(), sel[1].GetName()})
	for _, c := range sel {
		require.Equal(t, float32(1), c.GetValue(), "binary requests must set value 1 to select")
	}
}

func TestThrottledCallIsRetriedAndSucceeds(t *testing.T) {
	env := newEnv(t, nil)
	env.srv.Throttle(1)

	out := env.client.Predict(t.Context(), predictor.Request{Model: testModel, Inputs: inputs(5)})

	for _, o := range out {
		require.NoError(t, o.Err)
		require.NotNil(t, o.Prediction)
	}
	require.Equal(t, 2, env.srv.Calls())
	require.Equal(t, 1.0, counterValue(t, env.reg, "worker_clarifai_throttle_pauses_total"))
	require.Equal(t, 1.0, counterValue(t, env.reg, "worker_clarifai_retries_total"))
	require.Contains(t, env.logs.String(), `"cause":"throttled"`)
}

// counterValue sums a counter's series in reg.
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			sum := 0.0
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
			return sum
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

func TestMixedStatusPermanentInputFailsOnlyThatInput(t *testing.T) {
	env := newEnv(t, nil)
	in := inputs(3)
	env.srv.FailInput(in[1].ID, sc.StatusCode_INPUT_UNSUPPORTED_FORMAT, 0)

	out := env.client.Predict(t.Context(), predictor.Request{Model: testModel, Inputs: in})

	require.NotNil(t, out[0].Prediction)
	pe := requireError(t, out[1], predictor.PermanentInput, schemas.ReasonUnsupportedFormat)
	require.Equal(t, uint32(30101), pe.Code)
	require.NotNil(t, out[2].Prediction)
	require.Equal(t, 1, env.srv.Calls(), "a permanent input failure is not retried")
}

func TestTransientInputIsResubmittedAlone(t *testing.T) {
	env := newEnv(t, nil)
	in := inputs(4)
	env.srv.FailInput(in[2].ID, sc.StatusCode_RPC_REQUEST_TIMEOUT, 2)

	out := env.client.Predict(t.Context(), predictor.Request{Model: testModel, Inputs: in})

	for _, o := range out {
		require.NoError(t, o.Err)
	}
	reqs := env.srv.Requests()
	require.Len(t, reqs, 3)
	require.Equal(t, []string{in[2].ID}, reqs[1].InputIDs)
	require.Equal(t, []string{in[2].ID}, reqs[2].InputIDs)
}

func TestDownloadFailureNextToABadInputIsRetriedAlone(t *testing.T) {
	env := newEnv(t, nil)
	in := inputs(3)
	good, bad := in[0].ID, in[1].ID
	env.srv.FailInput(bad, sc.StatusCode_INPUT_INVALID_ARGUMENT, 0)
	env.srv.FailInput(good, sc.StatusCode_INPUT_DOWNLOAD_FAILED, 1) // collateral, first time only

	out := env.client.Predict(t.Context(), predictor.Request{Model: testModel, Inputs: in})

	require.NoError(t, out[0].Err, "collateral 30002 must be retried before it is trusted")
	requireError(t, out[1], predictor.PermanentInput, schemas.ReasonInvalidInput)
	require.NoError(t, out[2].Err)
	reqs := env.srv.Requests()
	require.Len(t, reqs, 2)
	require.Equal(t, []string{good}, reqs[1].InputIDs)
}

func TestDownloadFailureOnItsOwnIsPermanent(t *testing.T) {
	env := newEnv(t, nil)
	in := inputs(3)
	env.srv.FailInput(in[1].ID, sc.StatusCode_INPUT_DOWNLOAD_FAILED, 0)

	out := env.client.Predict(t.Context(), predictor.Request{Model: testModel, Inputs: in})

	requireError(t, out[1], predictor.PermanentInput, schemas.ReasonInputDownloadFailed)
	require.Equal(t, 1, env.srv.Calls())
}

func TestWholeCallFailures(t *testing.T) {
	t.Run("permanent is not retried", func(t *testing.T) {
		env := newEnv(t, nil)
		env.srv.FailCalls(1, sc.StatusCode_MODEL_DOES_NOT_EXIST)
		out := env.client.Predict(t.Context(), predictor.Request{Model: testModel, Inputs: inputs(3)})
		for _, o := range out {
			requireError(t, o, predictor.Permanent, schemas.ReasonModelNotFound)
		}
		require.Equal(t, 1, env.srv.Calls())
	})
	t.Run("warming model is retried", func(t *testing.T) {
		env := newEnv(t, nil)
		env.srv.FailCalls(2, sc.StatusCode_MODEL_LOADING)
		out := env.client.Predict(t.Context(), predictor.Request{Model: testModel, Inputs: inputs(3)})
		for _, o := range out {
			require.NoError(t, o.Err)
		}
		require.Equal(t, 3, env.srv.Calls())
	})
	t.Run("transport errors outlasting the retry budget are transient", func(t *testing.T) {
		env := newEnv(t, func(c *clarifai.ClientConfig) { c.RetryMaxElapsed = 100 * time.Millisecond })
		env.srv.FailCallsGRPC(1000, codes.Unavailable)
		out := env.client.Predict(t.Context(), predictor.Request{Model: testModel, Inputs: inputs(2)})
		for _, o := range out {
			requireError(t, o, predictor.Transient, schemas.ReasonTransportError)
			require.True(t, predictor.IsTransient(o.Err))
		}
		require.Greater(t, env.srv.Calls(), 1)
	})
}

// TestAccountFailuresAreHeldNotRetried: what stops the whole account comes
// back as predictor.Account for every input, after one call, with the
// reason words dead letters have always used; a model the key may not use
// stays a failure of that model's request.
func TestAccountFailuresAreHeldNotRetried(t *testing.T) {
	inBand := func(code sc.StatusCode) func(*clarifaitest.Server) {
		return func(s *clarifaitest.Server) { s.FailCalls(10, code) }
	}
	for _, tc := range []struct {
		name   string
		fail   func(*clarifaitest.Server)
		class  predictor.Class
		reason string
	}{
		{"11007", inBand(sc.StatusCode_CONN_INSUFFICIENT_SCOPES), predictor.Account, schemas.ReasonAuthFailed},
		{"11008", inBand(sc.StatusCode_CONN_KEY_INVALID), predictor.Account, schemas.ReasonAuthFailed},
		{"11004", inBand(sc.StatusCode_CONN_EXCEED_MONTHLY_LIMIT), predictor.Account, schemas.ReasonQuotaExceeded},
		{"11006", inBand(sc.StatusCode_CONN_EXCEEDS_LIMITS), predictor.Account, schemas.ReasonQuotaExceeded},
		{"60006", inBand(sc.StatusCode_LICENSE_VOLUME_EXCEEDED), predictor.Account, schemas.ReasonQuotaExceeded},
		{"11000", inBand(sc.StatusCode_CONN_ACCOUNT_ISSUES), predictor.Account, schemas.ReasonAccountIssue},
		{"gRPC UNAUTHENTICATED", func(s *clarifaitest.Server) { s.FailCallsGRPC(10, codes.Unauthenticated) },
			predictor.Account, schemas.ReasonAuthFailed},
		{"21201 per model", inBand(sc.StatusCode_MODEL_PERMISSION_DENIED), predictor.Permanent, schemas.ReasonAuthFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, nil)
			tc.fail(env.srv)
			out := env.client.Predict(t.Context(), predictor.Request{Model: testModel, Inputs: inputs(3)})
			for _, o := range out {
				requireError(t, o, tc.class, tc.reason)
				require.Equal(t, tc.class == predictor.Account, predictor.IsAccount(o.Err))
				require.False(t, predictor.IsTransient(o.Err))
			}
			require.Equal(t, 1, env.srv.Calls(), "not retried")
		})
	}
}

func TestCancelStopsBackoffWaitPromptly(t *testing.T) {
	env := newEnv(t, func(c *clarifai.ClientConfig) {
		c.RetryInitial = 10 * time.Second
		c.RetryMax = 10 * time.Second
		c.RetryMaxElapsed = time.Minute
	})
	env.srv.FailCalls(100, sc.StatusCode_TRY_AGAIN)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan []predictor.Outcome)
	go func() { done <- env.client.Predict(ctx, predictor.Request{Model: testModel, Inputs: inputs(2)}) }()

	require.Eventually(t, func() bool { return env.srv.Calls() == 1 }, 5*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool { return strings.Contains(env.logs.String(), "retrying") }, 5*time.Second, time.Millisecond)
	start := time.Now()
	cancel()
	var out []predictor.Outcome
	select {
	case out = <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Predict did not return after cancel")
	}
	require.Less(t, time.Since(start), time.Second, "not after the 10 s retry wait")
	for _, o := range out {
		require.ErrorIs(t, o.Err, context.Canceled)
	}
}

func TestInvalidInputsFailWithoutACall(t *testing.T) {
	env := newEnv(t, nil)
	in := []predictor.Input{
		{ID: "both", URL: "https://x", Bytes: []byte{1}},
		{ID: "neither"},
		{URL: "https://no-id"},
		{ID: "dup", URL: "https://a"},
		{ID: "dup", URL: "https://b"},
	}
	out := env.client.Predict(t.Context(), predictor.Request{Model: testModel, Inputs: in})
	for _, i := range []int{0, 1, 2} {
		requireError(t, out[i], predictor.PermanentInput, schemas.ReasonInvalidInput)
	}
	require.NoError(t, out[3].Err)
	requireError(t, out[4], predictor.PermanentInput, schemas.ReasonDuplicateInputID)
	require.Equal(t, 1, env.srv.Calls())
	require.Equal(t, []string{"dup"}, env.srv.Requests()[0].InputIDs)
}

// TestConcurrentCallersStayUnderTheRate: 40 goroutines predicting at once
// never put more than RateLimit calls into any one-second window.
func TestConcurrentCallersStayUnderTheRate(t *testing.T) {
	const rate = 20
	env := newEnv(t, func(c *clarifai.ClientConfig) { c.RateLimit = rate; c.Burst = 1 })
	// Connect first, so that the dial does not delay the first call's
	// arrival into the next ones.
	require.NoError(t, env.client.Predict(t.Context(), predictor.Request{Model: testModel, Inputs: inputs(1)})[0].Err)
	var wg sync.WaitGroup
	for g := range 40 {
		wg.Go(func() {
			in := []predictor.Input{{ID: fmt.Sprintf("g%d", g), URL: "https://x"}}
			out := env.client.Predict(t.Context(), predictor.Request{Model: testModel, Inputs: in})
			require.NoError(t, out[0].Err)
		})
	}
	wg.Wait()

	reqs := env.srv.Requests()
	require.Len(t, reqs, 41)
	var offsets []time.Duration
	for _, r := range reqs {
		offsets = append(offsets, r.Time.Sub(reqs[0].Time).Round(time.Millisecond))
	}
	for i, r := range reqs {
		n := 0
		for _, s := range reqs[i:] {
			if s.Time.Sub(r.Time) < time.Second {
				n++
			}
		}
		// rate+1: a window may hold both of its edges' calls; +1 more
		// for delivery jitter on a loaded machine.
		require.LessOrEqual(t, n, rate+2, "calls in the second after call %d; arrivals: %v", i, offsets)
	}
	require.GreaterOrEqual(t, reqs[len(reqs)-1].Time.Sub(reqs[0].Time), 1900*time.Millisecond)
}

func TestReadyWaitsForQuotaWithoutTakingIt(t *testing.T) {
	env := newEnv(t, func(c *clarifai.ClientConfig) { c.RateLimit = 2; c.Burst = 1 })
	require.NoError(t, env.client.Ready(t.Context()))
	require.NoError(t, env.client.Ready(t.Context()), "Ready must not consume the token")

	start := time.Now()
	out := env.client.Predict(t.Context(), predictor.Request{Model: testModel, Inputs: inputs(1)})
	require.NoError(t, out[0].Err)
	require.Less(t, time.Since(start), 250*time.Millisecond, "the call takes the token Ready saw")

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, env.client.Ready(ctx), context.DeadlineExceeded, "the token is spent for ~500ms")
	require.NoError(t, env.client.Ready(t.Context()))
}

func TestPATNeverLogged(t *testing.T) {
	env := newEnv(t, func(c *clarifai.ClientConfig) { c.RetryMaxElapsed = 50 * time.Millisecond })
	env.srv.RequirePAT("the-right-key")
	out := env.client.Predict(t.Context(), predictor.Request{Model: testModel, Inputs: inputs(2)})
	var msgs []string
	for _, o := range out {
		requireError(t, o, predictor.Account, schemas.ReasonAuthFailed)
		msgs = append(msgs, o.Err.Error())
	}
	require.Equal(t, "Key "+testPAT, env.srv.Requests()[0].Authorization)

	env.srv.RequirePAT("")
	env.srv.FailCallsGRPC(1000, codes.Unavailable)
	out = env.client.Predict(t.Context(), predictor.Request{Model: testModel, Inputs: inputs(1)})
	msgs = append(msgs, out[0].Err.Error())

	cfg := clarifai.ClientConfig{PAT: testPAT, MaxBatch: 1000}
	msgs = append(msgs, cfg.Validate().Error(), fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg))
	_, err := clarifai.NewClient(cfg, zerolog.New(env.logs))
	msgs = append(msgs, err.Error())

	require.NotEmpty(t, env.logs.String())
	require.NotContains(t, env.logs.String(), testPAT)
	for _, m := range msgs {
		require.NotContains(t, m, testPAT)
	}
}

// TestLargeResponses: a batch of masks bigger than grpc-go's 4 MiB default
// decodes; one bigger than MaxRecvMsgSize is split until it fits.
func TestLargeResponses(t *testing.T) {
	bigMasks := func(n, size int) *pb.Data {
		d := clarifaitest.Masks(n, 8)
		for _, r := range d.GetRegions() {
			noise := make([]byte, size)
			_, _ = rand.Read(noise)
			r.RegionInfo.Mask.Image.Base64 = noise
		}
		return d
	}
	t.Run("over 4 MiB", func(t *testing.T) {
		env := newEnv(t, nil)
		env.srv.SetPayload(testModel.ID, bigMasks(80, 64<<10)) // 5 MiB per output
		out := env.client.Predict(t.Context(), predictor.Request{Model: testModel, Inputs: inputs(2)})
		for _, o := range out {
			require.NoError(t, o.Err)
			require.Len(t, o.Prediction.Regions, 80)
			require.Len(t, o.Prediction.Regions[0].Mask, 64<<10)
		}
	})
	t.Run("over MaxRecvMsgSize is split", func(t *testing.T) {
		env := newEnv(t, func(c *clarifai.ClientConfig) { c.MaxRecvMsgSize = 3 << 20 })
		env.srv.SetPayload(testModel.ID, bigMasks(20, 64<<10)) // 1.25 MiB per output
		out := env.client.Predict(t.Context(), predictor.Request{Model: testModel, Inputs: inputs(4)})
		for _, o := range out {
			require.NoError(t, o.Err)
		}
		require.Equal(t, []int{2, 2, 4}, batchSizes(env.srv))
	})
	t.Run("one input over MaxRecvMsgSize fails alone", func(t *testing.T) {
		env := newEnv(t, func(c *clarifai.ClientConfig) { c.MaxRecvMsgSize = 1 << 20 })
		env.srv.SetPayload(testModel.ID, bigMasks(20, 64<<10))
		out := env.client.Predict(t.Context(), predictor.Request{Model: testModel, Inputs: inputs(2)})
		for _, o := range out {
			requireError(t, o, predictor.PermanentInput, schemas.ReasonMessageTooLarge)
		}
		require.Equal(t, []int{1, 1, 2}, batchSizes(env.srv))
	})
}
