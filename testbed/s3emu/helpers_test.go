package s3emu

import (
	"context"
	"net"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/farmhand/farmhand/testbed/testutil"
)

func startServer(t *testing.T) *Server {
	t.Helper()
	s, err := Start("", DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// sdkClient is a real aws-sdk-go-v2 S3 client (path style, static
// credentials, one attempt per call) for s; a non-nil source binds its
// connections to that local address.
func sdkClient(t *testing.T, s *Server, source net.IP) *s3.Client {
	t.Helper()
	tr := &http.Transport{}
	if source != nil {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: source}}
		tr.DialContext = d.DialContext
	}
	t.Cleanup(tr.CloseIdleConnections)
	return s3.New(s3.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(s.URL()),
		UsePathStyle:     true,
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG", ""),
		RetryMaxAttempts: 1,
		HTTPClient:       &http.Client{Transport: tr},
	})
}

func ctx(t *testing.T) context.Context { return testutil.Context(t) }

// wantAPIError asserts err is an S3 API error with code and HTTP status.
func wantAPIError(t *testing.T, err error, code string, status int) {
	t.Helper()
	testutil.WantAPIError(t, err, code, status)
}
