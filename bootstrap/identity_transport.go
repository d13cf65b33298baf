package bootstrap

import (
	"net"
	"net/http"
	"sync"
)

// imdsTransport is the IMDS client's HTTP transport. It never uses a proxy,
// fails fast on dial and header waits, and records what the SDK's errors
// hide: the status of the last token request and the last transport error.
type imdsTransport struct {
	base *http.Transport

	mu          sync.Mutex
	tokenStatus int
	lastErr     error
}

func newIMDSTransport() *imdsTransport {
	return &imdsTransport{base: &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: imdsDialTimeout}).DialContext,
		ResponseHeaderTimeout: imdsHeaderTimeout,
		MaxIdleConnsPerHost:   1,
	}}
}

// RoundTrip sends req and records its outcome.
func (t *imdsTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		// Keep the cause, not the cancellation that follows it.
		if t.lastErr == nil || req.Context().Err() == nil {
			t.lastErr = err
		}
		return resp, err
	}
	if req.Method == http.MethodPut && req.URL.Path == "/latest/api/token" {
		t.tokenStatus = resp.StatusCode
	}
	return resp, nil
}

// observed returns the last token status (0 if none) and transport error.
func (t *imdsTransport) observed() (tokenStatus int, lastErr error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.tokenStatus, t.lastErr
}
