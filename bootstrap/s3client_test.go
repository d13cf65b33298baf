package bootstrap

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestNewS3ClientMakesOneAttemptPathStyle(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)

	client, err := NewS3Client(context.Background(), S3Config{
		Region: "us-east-1", Endpoint: srv.URL, PathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", ""),
		HTTPClient:  &http.Client{Transport: tr},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a/b")})
	if err == nil {
		t.Fatal("GetObject against a 503 server succeeded")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(paths) != 1 {
		t.Fatalf("server saw %d requests, want 1: the SDK must not retry (the registry does)", len(paths))
	}
	if paths[0] != "/bkt/a/b" {
		t.Fatalf("request path %q, want path-style /bkt/a/b", paths[0])
	}
}

func TestNewS3ClientNeedsRegion(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_PROFILE", "")
	_, err := NewS3Client(context.Background(), S3Config{Endpoint: "http://127.0.0.1:1"})
	if err == nil || !strings.Contains(err.Error(), "region") {
		t.Fatalf("NewS3Client without a region = %v, want an error about the region", err)
	}
}
