package awscall

import (
	"io"
	"net"
	"net/http"
	"time"
)

// NewHTTPClient returns the HTTP client farmhand gives every
// aws-sdk-go-v2 client (S3 and EC2). A non-empty sourceIP makes every
// connection leave from that address (the agent's private IP, which is what
// routing would pick on EC2 anyway); the testbed relies on it to count each
// agent's requests by source.
//
// It works around a client-side race in smithy-go (aws/aws-sdk-go-v2#2737):
// the SDK closes the request body as soon as the response headers arrive,
// and the body's WriteTo then hands io.EOF to net/http's write loop, which
// closes the connection under the response being read. Against a server
// that answers within microseconds (the testbed, or an S3 endpoint in the
// same AZ) about one call in 40 failed with "use of closed network
// connection", and the SDK's retry then sent the request twice. Hiding
// WriteTo makes the late read a clean EOF.
func NewHTTPClient(sourceIP string) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if ip := net.ParseIP(sourceIP); ip != nil && !ip.IsUnspecified() {
		d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, LocalAddr: &net.TCPAddr{IP: ip}}
		tr.DialContext = d.DialContext
	}
	tr.MaxIdleConnsPerHost = 16
	return &http.Client{Transport: hideWriteTo{base: tr}, Timeout: 60 * time.Second}
}

type hideWriteTo struct{ base http.RoundTripper }

func (h hideWriteTo) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r = r.Clone(r.Context())
		r.Body = struct{ io.ReadCloser }{r.Body}
	}
	return h.base.RoundTrip(r)
}
