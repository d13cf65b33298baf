package bootstrap_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/testbed/imdsemu"
)

// imdsRecorder serves the testbed's IMDS emulator and records each
// request: its method, path and whether it carried an IMDSv2 token.
type imdsRecorder struct {
	emu *imdsemu.Server
	mu  sync.Mutex
	log []imdsRequest
}

type imdsRequest struct {
	method, path string
	token        bool
}

func (r *imdsRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.log = append(r.log, imdsRequest{req.Method, req.URL.Path, req.Header.Get("X-aws-ec2-metadata-token") != ""})
	r.mu.Unlock()
	r.emu.ServeHTTP(w, req)
}

func (r *imdsRecorder) requests() []imdsRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]imdsRequest(nil), r.log...)
}

// noCredentialsButTheRole leaves the SDK's chain nothing but the instance
// role: no keys in the environment, no shared files.
func noCredentialsButTheRole(t *testing.T) {
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_EC2_METADATA_DISABLED", "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_V1_DISABLED"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
}

// credentialsFromEmulator runs the credential chain as farmhand loads it
// against the testbed's IMDS emulator (with its token endpoint refused when
// v1Only) and returns the requests the emulator saw and the chain's error.
func credentialsFromEmulator(t *testing.T, v1Only bool) ([]imdsRequest, error) {
	noCredentialsButTheRole(t)
	emu, err := imdsemu.New(imdsemu.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	emu.SetV1Only(v1Only)
	rec := &imdsRecorder{emu: emu}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg, err := bootstrap.LoadAWSConfig(ctx, "us-east-1", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cfg.Credentials.Retrieve(ctx)
	reqs := rec.requests()
	if len(reqs) == 0 {
		t.Fatal("the credential chain never asked IMDS: the test proves nothing")
	}
	return reqs, err
}

// The SDK's credential chain, as farmhand loads it (S3 and EC2 alike),
// never falls back to IMDSv1: against the testbed's IMDS emulator with its
// token endpoint refused (an IMDSv1-only service, or a token request lost
// to the hop limit), it sends no request without a token, and fails.
func TestCredentialsNeverFallBackToIMDSv1(t *testing.T) {
	reqs, err := credentialsFromEmulator(t, true)
	if err == nil {
		t.Fatal("credentials were retrieved from an IMDS that refuses tokens")
	}
	for _, r := range reqs {
		if r.method == http.MethodGet && !r.token {
			t.Errorf("IMDSv1 request: %s %s without a token", r.method, r.path)
		}
	}
}

// With IMDSv2 answering, every metadata request of the credential chain
// carries a token (the emulator serves no role, so the chain still fails:
// only the requests matter).
func TestCredentialsUseIMDSv2Tokens(t *testing.T) {
	reqs, _ := credentialsFromEmulator(t, false)
	gets := 0
	for _, r := range reqs {
		if r.method == http.MethodGet {
			gets++
			if !r.token {
				t.Errorf("%s %s without a token", r.method, r.path)
			}
		}
	}
	if gets == 0 {
		t.Fatal("no metadata request was made: the test proves nothing")
	}
}
