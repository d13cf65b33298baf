package bootstrap

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/farmhand/farmhand/testbed/testutil"
)

// Test S3 servers: gofakes3 in-process and a versitygw process, both on
// 127.0.0.1, reached through NewS3Client with static credentials.

const (
	itBucket = "farmhand-it"
	itAccess = "test"
	itSecret = "testtest"
)

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
		Credentials: credentials.NewStaticCredentialsProvider(itAccess, itSecret, ""),
		HTTPClient:  &http.Client{Transport: tr},
	})
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// startGofakes3 serves an in-memory S3 holding itBucket.
func startGofakes3(t *testing.T) S3API {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(itBucket); err != nil {
		t.Fatal(err)
	}
	faker := gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog()))
	srv := httptest.NewServer(faker.Server())
	t.Cleanup(srv.Close)
	return newTestS3Client(t, srv.URL)
}

// versitygwBinary finds versitygw: $FARMHAND_VERSITYGW, then PATH, then
// .tools/bin under the repository root. It skips t when missing, or fails
// it when CI=true.
func versitygwBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("FARMHAND_VERSITYGW"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	if root, err := repoRoot(); err == nil {
		p := filepath.Join(root, ".tools", "bin", "versitygw")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	msg := "versitygw not found (FARMHAND_VERSITYGW, PATH, .tools/bin); run `make tools` to install it"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// repoRoot is the nearest directory above the working directory holding
// go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found")
		}
		dir = parent
	}
}

// startVersitygw runs versitygw's posix backend on a temp dir and a free
// 127.0.0.1 port, creates itBucket, and stops it when t ends.
func startVersitygw(t *testing.T) S3API {
	t.Helper()
	bin := versitygwBinary(t)
	ip := net.IPv4(127, 0, 0, 1)
	addr := net.JoinHostPort(ip.String(), strconv.Itoa(testutil.FreePort(t, ip)))
	var out bytes.Buffer
	cmd := exec.Command(bin, "--access", itAccess, "--secret", itSecret, "--port", addr, "--quiet", "posix", t.TempDir())
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("versitygw output:\n%s", out.String())
		}
	})

	testutil.Run(t, 20*time.Second, func(r *testutil.R) {
		select {
		case err := <-exited:
			exited <- err
			r.Fatalf("versitygw exited: %v", err)
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			r.Fatalf("versitygw not answering on %s: %v", addr, err)
		}
		c.Close()
	})
	admin := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("http://" + addr), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(itAccess, itSecret, ""),
	})
	if _, err := admin.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(itBucket)}); err != nil {
		t.Fatalf("creating bucket on versitygw at %s: %v", addr, err)
	}
	return newTestS3Client(t, "http://"+addr)
}

// s3Servers are the servers the integration suite runs against.
var s3Servers = []struct {
	name  string
	start func(t *testing.T) S3API
}{
	{"gofakes3", startGofakes3},
	{"versitygw", startVersitygw},
}

func requireIntegration(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skipf("%s starts S3 servers; skipped with -short", t.Name())
	}
}
