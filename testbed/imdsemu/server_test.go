package imdsemu

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/farmhand/farmhand/bootstrap"
	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/testbed/testutil"
)

var identity = bootstrap.Identity{
	InstanceID:       "i-0abcdef0123456789",
	PrivateIP:        "127.0.1.7",
	AvailabilityZone: "eu-west-1b",
	InstanceType:     "m7g.large",
	AMI:              "ami-0fedcba9876543210",
}

func startServer(t *testing.T, clock clockwork.Clock) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Identity = identity
	if clock != nil {
		cfg.Clock = clock
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Listen(""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return e
}

// sdkClient is the real aws-sdk-go-v2 IMDS client pointed at e, making one
// attempt per call.
func sdkClient(t *testing.T, e *Server, opts ...func(*imds.Options)) *imds.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	o := imds.Options{
		Endpoint:   e.URL(),
		HTTPClient: &http.Client{Transport: tr},
		Retryer:    aws.NopRetryer{},
	}
	for _, f := range opts {
		f(&o)
	}
	return imds.New(o)
}

func ctx(t *testing.T) context.Context { return testutil.Context(t) }

func metadata(ctx context.Context, c *imds.Client, path string) (string, error) {
	out, err := c.GetMetadata(ctx, &imds.GetMetadataInput{Path: path})
	if err != nil {
		return "", err
	}
	defer out.Content.Close()
	b, err := io.ReadAll(out.Content)
	return string(b), err
}

func TestIdentityThroughSDK(t *testing.T) {
	e := startServer(t, nil)
	c := sdkClient(t, e)
	for path, want := range map[string]string{
		"instance-id":                 identity.InstanceID,
		"local-ipv4":                  identity.PrivateIP,
		"placement/availability-zone": identity.AvailabilityZone,
		"placement/region":            "eu-west-1",
		"instance-type":               identity.InstanceType,
		"ami-id":                      identity.AMI,
		"local-hostname":              "ip-127-0-1-7.eu-west-1.compute.internal",
	} {
		got, err := metadata(ctx(t), c, path)
		if err != nil || got != want {
			t.Errorf("GetMetadata(%s) = %q, %v; want %q", path, got, err, want)
		}
	}
	doc, err := c.GetInstanceIdentityDocument(ctx(t), nil)
	if err != nil {
		t.Fatalf("GetInstanceIdentityDocument: %v", err)
	}
	d := doc.InstanceIdentityDocument
	if d.InstanceID != identity.InstanceID || d.PrivateIP != identity.PrivateIP || d.AvailabilityZone != identity.AvailabilityZone ||
		d.Region != "eu-west-1" || d.InstanceType != identity.InstanceType || d.ImageID != identity.AMI ||
		d.AccountID != "123456789012" || d.PendingTime.IsZero() {
		t.Errorf("identity document = %+v", d)
	}
	region, err := c.GetRegion(ctx(t), nil)
	if err != nil || region.Region != "eu-west-1" {
		t.Errorf("GetRegion = %+v, %v", region, err)
	}
	if _, err := metadata(ctx(t), c, "iam/security-credentials/"); err == nil {
		t.Error("an unknown path answered")
	}
	if n := e.Requests(); n < 11 {
		t.Errorf("Requests() = %d after 11 metadata calls", n)
	}
}

// raw sends one request by hand and returns the status and body.
func raw(t *testing.T, e *Server, method, path string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), method, e.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestTokensRequired(t *testing.T) {
	clock := clockwork.NewFakeClock()
	e := startServer(t, clock)

	if code, _ := raw(t, e, http.MethodGet, "/latest/meta-data/instance-id", nil); code != http.StatusUnauthorized {
		t.Errorf("GET without a token: %d, want 401", code)
	}
	if code, _ := raw(t, e, http.MethodGet, "/latest/meta-data/instance-id", map[string]string{tokenHeader: "forged"}); code != http.StatusUnauthorized {
		t.Errorf("GET with a forged token: %d, want 401", code)
	}
	for _, ttl := range []string{"", "0", "21601", "soon"} {
		if code, _ := raw(t, e, http.MethodPut, "/latest/api/token", map[string]string{tokenTTLHeader: ttl}); code != http.StatusBadRequest {
			t.Errorf("PUT token with TTL %q: %d, want 400", ttl, code)
		}
	}
	if code, _ := raw(t, e, http.MethodPut, "/latest/api/token", map[string]string{tokenTTLHeader: "60", "X-Forwarded-For": "10.0.0.9"}); code != http.StatusForbidden {
		t.Errorf("proxied PUT token: %d, want 403", code)
	}
	if code, _ := raw(t, e, http.MethodGet, "/latest/api/token", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("GET token: %d, want 405", code)
	}

	code, tok := raw(t, e, http.MethodPut, "/latest/api/token", map[string]string{tokenTTLHeader: "60"})
	if code != http.StatusOK || len(tok) < 40 {
		t.Fatalf("PUT token: %d %q", code, tok)
	}
	if code, body := raw(t, e, http.MethodGet, "/latest/meta-data/instance-id", map[string]string{tokenHeader: tok}); code != 200 || body != identity.InstanceID {
		t.Errorf("GET with a token: %d %q", code, body)
	}
	clock.Advance(60 * time.Second)
	if code, _ := raw(t, e, http.MethodGet, "/latest/meta-data/instance-id", map[string]string{tokenHeader: tok}); code != http.StatusUnauthorized {
		t.Errorf("GET with an expired token: %d, want 401", code)
	}
}

func TestV1Only(t *testing.T) {
	e := startServer(t, nil)
	e.SetV1Only(true)
	if code, _ := raw(t, e, http.MethodPut, "/latest/api/token", map[string]string{tokenTTLHeader: "60"}); code != http.StatusNotFound {
		t.Errorf("PUT token on IMDSv1: %d, want 404", code)
	}
	got, err := metadata(ctx(t), sdkClient(t, e), "instance-id")
	if err != nil || got != identity.InstanceID {
		t.Errorf("SDK with fallback on IMDSv1: %q, %v", got, err)
	}
	strict := sdkClient(t, e, func(o *imds.Options) { o.EnableFallback = aws.FalseTernary })
	if _, err := metadata(ctx(t), strict, "instance-id"); err == nil {
		t.Error("SDK without fallback read IMDSv1")
	}

	e.SetV1Only(false)
	if _, err := metadata(ctx(t), sdkClient(t, e, func(o *imds.Options) { o.EnableFallback = aws.FalseTernary }), "instance-id"); err != nil {
		t.Errorf("back on IMDSv2: %v", err)
	}
}

func TestDown(t *testing.T) {
	e := startServer(t, nil)
	c := sdkClient(t, e)
	e.SetDown(true)
	_, err := metadata(ctx(t), c, "instance-id")
	if err == nil {
		t.Fatal("GetMetadata succeeded while the service was down")
	}
	e.SetDown(false)
	// A fresh client: the SDK disables tokens after a failed connection.
	if got, err := metadata(ctx(t), sdkClient(t, e), "instance-id"); err != nil || got != identity.InstanceID {
		t.Errorf("after SetDown(false): %q, %v", got, err)
	}
}

func TestDelay(t *testing.T) {
	clock := clockwork.NewFakeClock()
	e := startServer(t, clock)
	e.SetDelay(5 * time.Second)
	c := sdkClient(t, e, func(o *imds.Options) { o.DisableDefaultTimeout = true })

	type result struct {
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		body, err := metadata(ctx(t), c, "instance-id")
		done <- result{body, err}
	}()
	// Two requests (token, then metadata), each held for the delay.
	for i := 0; i < 2; i++ {
		if err := clock.BlockUntilContext(ctx(t), 1); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-done:
			t.Fatalf("answered before the delay passed: %+v", r)
		default:
		}
		clock.Advance(5 * time.Second)
	}
	r := <-done
	if r.err != nil || r.body != identity.InstanceID {
		t.Errorf("delayed GetMetadata = %q, %v", r.body, r.err)
	}

	// A caller that gives up first gets an error, not a late answer.
	short, cancel := context.WithTimeout(ctx(t), 50*time.Millisecond)
	defer cancel()
	_, err := metadata(short, sdkClient(t, e), "instance-id")
	if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(strings.ToLower(err.Error()), "deadline") {
		t.Errorf("GetMetadata past its deadline: %v", err)
	}
}

func TestNewRejectsBadIdentity(t *testing.T) {
	for name, id := range map[string]bootstrap.Identity{
		"no id": {PrivateIP: "10.0.0.1", AvailabilityZone: "us-east-1a"},
		"no ip": {InstanceID: "i-0abcdef0123456789", AvailabilityZone: "us-east-1a"},
		"no az": {InstanceID: "i-0abcdef0123456789", PrivateIP: "10.0.0.1"},
	} {
		cfg := DefaultConfig()
		cfg.Identity = id
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, id)
		}
	}
}

func TestStart(t *testing.T) {
	s, err := Start("", identity)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := metadata(ctx(t), sdkClient(t, s), "placement/region")
	if err != nil || got != "eu-west-1" {
		t.Errorf("region from a started server = %q, %v", got, err)
	}
	if err := s.Listen(""); err == nil {
		t.Error("a second Listen succeeded")
	}
	if _, err := Start("", bootstrap.Identity{}); err == nil {
		t.Error("Start accepted an empty identity")
	}
}
