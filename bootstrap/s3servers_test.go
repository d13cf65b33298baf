package bootstrap

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/farmhand/farmhand/testbed/testutil"
)

// Test S3 servers: gofakes3 in-process and a versitygw process, both on
// 127.0.0.1 (testutil.S3Servers), reached through NewS3Client with static
// credentials.

const itBucket = "farmhand-it"

// newTestS3Client returns a path-style client of endpoint whose idle
// connections are closed when t ends.
func newTestS3Client(t *testing.T, endpoint string) S3API {
	t.Helper()
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	client, err := NewS3Client(context.Background(), S3Config{
		Region:      "us-east-1",
		Endpoint:    endpoint,
		PathStyle:   true,
		Credentials: credentials.NewStaticCredentialsProvider(testutil.S3AccessKey, testutil.S3SecretKey, ""),
		HTTPClient:  &http.Client{Transport: tr},
	})
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// s3Servers are the servers the integration suite runs against.
var s3Servers = func() (out []struct {
	name  string
	start func(t *testing.T) S3API
}) {
	for _, srv := range testutil.S3Servers {
		out = append(out, struct {
			name  string
			start func(t *testing.T) S3API
		}{srv.Name, func(t *testing.T) S3API { return newTestS3Client(t, srv.Start(t, itBucket)) }})
	}
	return out
}()

func requireIntegration(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skipf("%s starts S3 servers; skipped with -short", t.Name())
	}
}
