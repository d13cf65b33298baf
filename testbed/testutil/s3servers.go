package testutil

import (
	"context"
	"errors"
	"net"
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
)

// Static credentials of the test S3 servers.
const (
	S3AccessKey = "test"
	S3SecretKey = "testtest"
)

// S3Server is an S3 implementation the integration tests run against.
type S3Server struct {
	// Name names it in subtest names: "gofakes3" or "versitygw".
	Name string
	// Start serves a new, empty server holding bucket until t ends and
	// returns its endpoint URL (path-style, S3AccessKey and S3SecretKey).
	Start func(t testing.TB, bucket string) string
}

// S3Servers are the servers S3 code is tested against: gofakes3 in
// process and a versitygw process. They differ where real S3 servers do:
// a conditional write (If-Match) of a missing key is 412 on gofakes3 and
// 404 on versitygw, as on AWS.
var S3Servers = []S3Server{
	{"gofakes3", StartGofakes3},
	{"versitygw", StartVersitygw},
}

// StartGofakes3 serves an in-memory gofakes3 holding bucket on 127.0.0.1
// until t ends and returns its URL.
func StartGofakes3(t testing.TB, bucket string) string {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	faker := gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog()))
	srv := httptest.NewServer(faker.Server())
	t.Cleanup(srv.Close)
	return srv.URL
}

// VersitygwBinary finds versitygw: $FARMHAND_VERSITYGW, then PATH, then
// .tools/bin under the repository root. It skips t when missing, or fails
// it in CI.
func VersitygwBinary(t testing.TB) string {
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
	if InCI() {
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

// StartVersitygw runs versitygw's posix backend on a temp dir and a free
// 127.0.0.1 port, creates bucket, stops it when t ends and returns its URL.
func StartVersitygw(t testing.TB, bucket string) string {
	t.Helper()
	bin := VersitygwBinary(t)
	ip := net.IPv4(127, 0, 0, 1)
	addr := net.JoinHostPort(ip.String(), strconv.Itoa(FreePort(t, ip)))
	var out Buffer
	cmd := exec.Command(bin, "--access", S3AccessKey, "--secret", S3SecretKey, "--port", addr, "--quiet", "posix", t.TempDir())
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

	Run(t, 20*time.Second, func(r *R) {
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
	url := "http://" + addr
	if _, err := NewS3Client(url).CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("creating bucket on versitygw at %s: %v", addr, err)
	}
	return url
}

// NewS3Client is a plain path-style SDK client of a test S3 server.
func NewS3Client(endpoint string) *s3.Client {
	return s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(S3AccessKey, S3SecretKey, ""),
	})
}
