package imageprep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// Fetcher downloads images by URL under a size cap, a time limit and a
// redirect policy. It is safe for concurrent use.
type Fetcher struct {
	cfg    FetchConfig
	client *http.Client
	log    zerolog.Logger
}

// NewFetcher returns a Fetcher with its own connection pool.
func NewFetcher(cfg FetchConfig, log zerolog.Logger) (*Fetcher, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	d := &net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}
	if !cfg.AllowPrivate {
		d.Control = refusePrivate
	}
	tr.DialContext = d.DialContext
	tr.TLSHandshakeTimeout = cfg.ConnectTimeout
	f := &Fetcher{cfg: cfg, log: log.With().Str("component", "fetcher").Logger()}
	f.client = &http.Client{Transport: tr, CheckRedirect: f.checkRedirect}
	return f, nil
}

// refusePrivate refuses to dial an address that is not a public unicast
// one. It runs on the resolved address, so a name that resolves to a
// private address is refused as well.
func refusePrivate(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrPrivateAddress, address)
	}
	ip := ap.Addr().Unmap()
	if !ip.IsGlobalUnicast() || ip.IsPrivate() || sharedAddressSpace.Contains(ip) {
		return fmt.Errorf("%w: %s", ErrPrivateAddress, ip)
	}
	return nil
}

// sharedAddressSpace is carrier-grade NAT (RFC 6598), which
// netip.Addr.IsPrivate does not count.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

func (f *Fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("%w: redirect to a %q URL refused", ErrBadScheme, req.URL.Scheme)
	}
	if len(via) > max(f.cfg.MaxRedirects, 0) {
		return fmt.Errorf("%w: more than %d", ErrTooManyRedirects, max(f.cfg.MaxRedirects, 0))
	}
	return nil
}

// Fetch returns the body of rawURL. Failures are *FetchError, which
// errors.Is matches to ErrDownloadFailed or ErrTooLarge, except that
// ctx's own error is returned as is: a cancelled caller has not judged
// the input.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, downloadError("malformed URL", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, downloadError(fmt.Sprintf("URL scheme %q", u.Scheme), ErrBadScheme)
	}
	if u.Host == "" {
		return nil, downloadError("URL has no host", nil)
	}
	actx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()

	wait := f.cfg.RetryBackoff
	for attempt := 0; ; attempt++ {
		body, retry, err := f.attempt(actx, u)
		if err == nil {
			return body, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if actx.Err() != nil {
			return nil, downloadError(fmt.Sprintf("no complete response within %s", f.cfg.Timeout), err)
		}
		if !retry || attempt >= f.cfg.Retries {
			return nil, err
		}
		f.log.Debug().Err(err).Str("host", u.Host).Int("attempt", attempt+1).Msg("retrying image download")
		t := time.NewTimer(wait)
		select {
		case <-actx.Done():
			t.Stop()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		case <-t.C:
		}
		wait *= 2
	}
}

// attempt makes one request. retry says whether another attempt may succeed.
func (f *Fetcher) attempt(ctx context.Context, u *url.URL) (body []byte, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, false, downloadError("cannot build request", err)
	}
	req.Header.Set("User-Agent", f.cfg.UserAgent)
	req.Header.Set("Accept", "image/*")
	resp, err := f.client.Do(req)
	if err != nil {
		permanent := errors.Is(err, ErrBadScheme) || errors.Is(err, ErrTooManyRedirects) || errors.Is(err, ErrPrivateAddress)
		return nil, !permanent, downloadError("request failed", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		retry := resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
		return nil, retry, downloadError(fmt.Sprintf("HTTP %s", resp.Status), nil)
	}
	if resp.ContentLength > f.cfg.MaxBytes {
		return nil, false, tooLargeError(fmt.Sprintf("Content-Length %d exceeds %d bytes", resp.ContentLength, f.cfg.MaxBytes))
	}
	body, err = io.ReadAll(io.LimitReader(resp.Body, f.cfg.MaxBytes+1))
	if err != nil {
		return nil, true, downloadError("reading body", err)
	}
	if int64(len(body)) > f.cfg.MaxBytes {
		return nil, false, tooLargeError(fmt.Sprintf("body exceeds %d bytes", f.cfg.MaxBytes))
	}
	return body, false, nil
}
