package clarifai_test

import (
	"io"
	"net"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/predictor/clarifai"
)

// countingProxy forwards TCP connections to target and counts them.
type countingProxy struct {
	ln       net.Listener
	accepted atomic.Int32
}

func newCountingProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &countingProxy{ln: ln}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			p.accepted.Add(1)
			out, err := net.Dial("tcp", target)
			if err != nil {
				_ = in.Close()
				continue
			}
			go func() { _, _ = io.Copy(out, in); _ = out.Close() }()
			go func() { _, _ = io.Copy(in, out); _ = in.Close() }()
		}
	}()
	return p
}

// TestReadyConnectsBeforeTheQuotaIsTaken: Ready returns with the
// connection to Clarifai up, so that no call spends its quota slot
// dialling (DNS, TCP, TLS) and reaches Clarifai late, which would let
// the calls after it crowd one second of the account's quota.
func TestReadyConnectsBeforeTheQuotaIsTaken(t *testing.T) {
	var proxy *countingProxy
	env := newEnv(t, func(c *clarifai.ClientConfig) {
		proxy = newCountingProxy(t, c.Endpoint)
		c.Endpoint = proxy.ln.Addr().String()
	})
	require.Zero(t, proxy.accepted.Load(), "the client dials lazily")
	require.NoError(t, env.client.Ready(t.Context()))
	require.EqualValues(t, 1, proxy.accepted.Load(), "Ready returned before the connection was made")

	out := env.client.Predict(t.Context(), predictor.Request{Model: testModel, Inputs: inputs(1)})
	require.NoError(t, out[0].Err)
	require.EqualValues(t, 1, proxy.accepted.Load(), "the call used the connection Ready made")
}
