package imageprep_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/imgpredict/worker/imageprep"
)

// newFetcher returns a fetcher that may reach the tests' loopback servers.
func newFetcher(t *testing.T, cfg imageprep.FetchConfig) *imageprep.Fetcher {
	t.Helper()
	cfg.AllowPrivate = true
	if cfg.RetryBackoff == 0 {
		cfg.RetryBackoff = time.Millisecond
	}
	f, err := imageprep.NewFetcher(cfg, zerolog.Nop())
	require.NoError(t, err)
	return f
}

// requireFetchErr checks that err is a *FetchError of kind.
func requireFetchErr(t *testing.T, err error, kind error) *imageprep.FetchError {
	t.Helper()
	fe, ok := errors.AsType[*imageprep.FetchError](err)
	require.True(t, ok, "want *imageprep.FetchError, got %v", err)
	require.ErrorIs(t, err, kind)
	return fe
}

func TestFetch(t *testing.T) {
	img := []byte("\x89PNG\r\n\x1a\n not really the rest of a PNG")
	var hits atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/ok.png", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(img) })
	mux.HandleFunc("/flaky.png", func(w http.ResponseWriter, _ *http.Request) {
		if hits.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write(img)
	})
	mux.HandleFunc("/gone.png", func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		http.NotFound(w, nil)
	})
	mux.HandleFunc("/down.png", func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	})
	mux.HandleFunc("/to-file", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
	})
	mux.HandleFunc("/to-ok", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ok.png", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/big-declared", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "2000")
		_, _ = w.Write(make([]byte, 2000))
	})
	mux.HandleFunc("/big-streamed", func(w http.ResponseWriter, _ *http.Request) {
		for range 20 {
			_, _ = w.Write(make([]byte, 100))
			w.(http.Flusher).Flush() // chunked: no Content-Length
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f := newFetcher(t, imageprep.FetchConfig{MaxBytes: 1000})

	t.Run("ok", func(t *testing.T) {
		body, err := f.Fetch(t.Context(), srv.URL+"/ok.png")
		require.NoError(t, err)
		require.Equal(t, img, body)
	})
	t.Run("redirect to http is followed", func(t *testing.T) {
		body, err := f.Fetch(t.Context(), srv.URL+"/to-ok")
		require.NoError(t, err)
		require.Equal(t, img, body)
	})
	t.Run("5xx is retried", func(t *testing.T) {
		hits.Store(0)
		body, err := f.Fetch(t.Context(), srv.URL+"/flaky.png")
		require.NoError(t, err)
		require.Equal(t, img, body)
		require.Equal(t, int32(2), hits.Load())
	})
	t.Run("5xx gives up after the retries", func(t *testing.T) {
		hits.Store(0)
		_, err := f.Fetch(t.Context(), srv.URL+"/down.png")
		fe := requireFetchErr(t, err, imageprep.ErrDownloadFailed)
		require.Contains(t, fe.Detail, "502")
		require.Equal(t, int32(3), hits.Load(), "one attempt and two retries")
	})
	t.Run("404 is not retried", func(t *testing.T) {
		hits.Store(0)
		_, err := f.Fetch(t.Context(), srv.URL+"/gone.png")
		fe := requireFetchErr(t, err, imageprep.ErrDownloadFailed)
		require.Contains(t, fe.Detail, "404")
		require.Equal(t, int32(1), hits.Load())
	})
	t.Run("redirect to file is refused", func(t *testing.T) {
		_, err := f.Fetch(t.Context(), srv.URL+"/to-file")
		requireFetchErr(t, err, imageprep.ErrDownloadFailed)
		require.ErrorIs(t, err, imageprep.ErrBadScheme)
	})
	t.Run("redirect loop stops", func(t *testing.T) {
		_, err := f.Fetch(t.Context(), srv.URL+"/loop")
		requireFetchErr(t, err, imageprep.ErrDownloadFailed)
		require.ErrorIs(t, err, imageprep.ErrTooManyRedirects)
	})
	t.Run("declared oversize", func(t *testing.T) {
		_, err := f.Fetch(t.Context(), srv.URL+"/big-declared")
		requireFetchErr(t, err, imageprep.ErrTooLarge)
	})
	t.Run("streamed oversize", func(t *testing.T) {
		_, err := f.Fetch(t.Context(), srv.URL+"/big-streamed")
		requireFetchErr(t, err, imageprep.ErrTooLarge)
	})
	for _, u := range []string{"file:///etc/passwd", "ftp://example.com/a.png", "data:image/png;base64,AAAA", "http://", "://bad"} {
		t.Run("refused "+u, func(t *testing.T) {
			_, err := f.Fetch(t.Context(), u)
			requireFetchErr(t, err, imageprep.ErrDownloadFailed)
		})
	}
}

func TestFetchUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now

	_, err = newFetcher(t, imageprep.FetchConfig{}).Fetch(t.Context(), "http://"+addr+"/a.png")
	requireFetchErr(t, err, imageprep.ErrDownloadFailed)
}

func TestFetchTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	f := newFetcher(t, imageprep.FetchConfig{Timeout: 200 * time.Millisecond})
	start := time.Now()
	_, err := f.Fetch(t.Context(), srv.URL+"/slow.png")
	fe := requireFetchErr(t, err, imageprep.ErrDownloadFailed)
	require.Contains(t, fe.Detail, "200ms")
	require.Less(t, time.Since(start), 2*time.Second)
}

func TestFetchReturnsCallerCancellation(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := newFetcher(t, imageprep.FetchConfig{}).Fetch(ctx, srv.URL)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	_, classified := errors.AsType[*imageprep.FetchError](err)
	require.False(t, classified, "a cancelled caller must not dead-letter the input")
}

func TestFetchConfigValidate(t *testing.T) {
	tests := []struct {
		cfg     imageprep.FetchConfig
		setting string
	}{
		{imageprep.FetchConfig{Timeout: -1}, "Timeout"},
		{imageprep.FetchConfig{MaxBytes: -5}, "MaxBytes"},
		{imageprep.FetchConfig{MaxRedirects: 50}, "MaxRedirects"},
		{imageprep.FetchConfig{Retries: -2}, "Retries"},
	}
	for _, tt := range tests {
		_, err := imageprep.NewFetcher(tt.cfg, zerolog.Nop())
		require.ErrorIs(t, err, imageprep.ErrInvalidConfig)
		require.True(t, strings.Contains(err.Error(), tt.setting), "%v names %s", err, tt.setting)
	}
}

// By default an event's URL cannot make the worker fetch from its own
// network: loopback, private, link-local (cloud metadata), shared and
// unspecified addresses are refused before a connection is made, also
// when a host name resolves to one, and without retries.
func TestFetchRefusesNonPublicAddresses(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	require.NoError(t, err)

	f, err := imageprep.NewFetcher(imageprep.FetchConfig{RetryBackoff: time.Second}, zerolog.Nop())
	require.NoError(t, err)
	for _, u := range []string{
		srv.URL + "/a.png",
		"http://localhost:" + port + "/a.png",
		"http://169.254.169.254/latest/meta-data/",
		"http://10.1.2.3/a.png",
		"http://172.16.0.1/a.png",
		"http://192.168.1.1/a.png",
		"http://100.64.0.1/a.png",
		"http://0.0.0.0:" + port + "/a.png",
		"http://[fd00::1]/a.png",
		"http://[fe80::1%25lo]/a.png",
	} {
		start := time.Now()
		_, err := f.Fetch(t.Context(), u)
		requireFetchErr(t, err, imageprep.ErrDownloadFailed)
		require.ErrorIs(t, err, imageprep.ErrPrivateAddress, u)
		require.Less(t, time.Since(start), time.Second, "%s was retried", u)
	}
	require.Zero(t, hits.Load(), "a refused URL reached the server")
}
