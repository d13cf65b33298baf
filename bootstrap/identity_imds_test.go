package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeIMDS is an IMDSv2 server: PUT /latest/api/token with a TTL header
// issues a token; GETs without a valid token get 401.
type fakeIMDS struct {
	srv    *httptest.Server
	values map[string]string
	// v1Only answers the token PUT with this status (IMDSv1-only server).
	v1Only int
	// hang blocks every request until the client gives up.
	hang bool
	// noRegion answers 404 for placement/region, as old IMDS versions do.
	noRegion bool
	// stalls is how many requests, the first ones, block until the
	// client gives up: an IMDS on a machine too busy to answer in time.
	stalls int64

	mu       sync.Mutex
	tokens   map[string]bool
	requests atomic.Int64
}

func newFakeIMDS(t *testing.T, edit func(*fakeIMDS)) *fakeIMDS {
	t.Helper()
	f := &fakeIMDS{
		values: map[string]string{
			"instance-id":                 "i-0123456789abcdef0",
			"local-ipv4":                  "10.1.2.3",
			"placement/availability-zone": "eu-west-1b",
			"placement/region":            "eu-west-1",
			"instance-type":               "m7g.large",
			"ami-id":                      "ami-0abc",
		},
		tokens: map[string]bool{},
	}
	if edit != nil {
		edit(f)
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIMDS) serve(w http.ResponseWriter, r *http.Request) {
	n := f.requests.Add(1)
	if f.hang || n <= f.stalls {
		<-r.Context().Done()
		return
	}
	if r.Method == http.MethodPut && r.URL.Path == "/latest/api/token" {
		if f.v1Only != 0 {
			w.WriteHeader(f.v1Only)
			return
		}
		ttl, err := strconv.Atoi(r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds"))
		if err != nil || ttl < 1 || ttl > 21600 {
			http.Error(w, "bad ttl", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		tok := fmt.Sprintf("token-%d", len(f.tokens)+1)
		f.tokens[tok] = true
		f.mu.Unlock()
		w.Header().Set("X-aws-ec2-metadata-token-ttl-seconds", strconv.Itoa(ttl))
		fmt.Fprint(w, tok)
		return
	}
	if r.Method != http.MethodGet {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if f.v1Only == 0 {
		f.mu.Lock()
		ok := f.tokens[r.Header.Get("X-aws-ec2-metadata-token")]
		f.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
	}
	path := strings.TrimPrefix(r.URL.Path, "/latest/meta-data/")
	f.mu.Lock()
	v, ok := f.values[path]
	f.mu.Unlock()
	if !ok || path == "placement/region" && f.noRegion {
		http.NotFound(w, r)
		return
	}
	fmt.Fprint(w, v)
}

// loadBounded runs LoadIdentity and fails the test if it does not return
// well within its own timeout: it must never hang.
func loadBounded(t *testing.T, cfg IdentityConfig) (Identity, error) {
	t.Helper()
	type result struct {
		id  Identity
		err error
	}
	done := make(chan result, 1)
	go func() {
		id, err := LoadIdentity(context.Background(), cfg)
		done <- result{id, err}
	}()
	select {
	case r := <-done:
		return r.id, r.err
	case <-time.After(DefaultIdentityTimeout + 5*time.Second):
		t.Fatal("LoadIdentity did not return: it must be bounded by its timeout")
		return Identity{}, nil
	}
}

func TestLoadIdentityFromIMDSv2(t *testing.T) {
	f := newFakeIMDS(t, nil)
	id, err := loadBounded(t, IdentityConfig{Endpoint: f.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	want := Identity{
		InstanceID: "i-0123456789abcdef0", PrivateIP: "10.1.2.3", AvailabilityZone: "eu-west-1b",
		Region: "eu-west-1", InstanceType: "m7g.large", AMI: "ami-0abc",
	}
	if id != want {
		t.Fatalf("identity = %+v, want %+v", id, want)
	}
	if len(f.tokens) != 1 {
		t.Errorf("%d tokens issued, want 1 reused for all reads", len(f.tokens))
	}
}

func TestLoadIdentityDerivesRegionFromAZ(t *testing.T) {
	f := newFakeIMDS(t, func(f *fakeIMDS) {
		f.noRegion = true
		f.values["placement/availability-zone"] = "us-west-2-lax-1a"
	})
	id, err := loadBounded(t, IdentityConfig{Endpoint: f.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if id.Region != "us-west-2" {
		t.Fatalf("region = %q, want us-west-2 derived from the local zone", id.Region)
	}
	for az, want := range map[string]string{"eu-west-1a": "eu-west-1", "us-gov-west-1b": "us-gov-west-1", "cn-north-1a": "cn-north-1"} {
		if got, ok := regionFromAZ(az); !ok || got != want {
			t.Errorf("regionFromAZ(%q) = %q, %v; want %q", az, got, ok, want)
		}
	}
	if _, ok := regionFromAZ("nonsense"); ok {
		t.Error("regionFromAZ(nonsense) succeeded")
	}
}

func TestLoadIdentityOverrides(t *testing.T) {
	f := newFakeIMDS(t, nil)
	id, err := loadBounded(t, IdentityConfig{Endpoint: f.srv.URL, Override: Identity{PrivateIP: "192.168.7.7", InstanceType: "custom"}})
	if err != nil {
		t.Fatal(err)
	}
	if id.PrivateIP != "192.168.7.7" || id.InstanceType != "custom" || id.InstanceID != "i-0123456789abcdef0" {
		t.Fatalf("identity = %+v: overrides must win, the rest come from IMDS", id)
	}
	// 1 token + 4 GETs: the two overridden fields are not read.
	if n := f.requests.Load(); n != 5 {
		t.Fatalf("IMDS saw %d requests, want 5", n)
	}

	// Every field set (region derivable from the AZ): IMDS is never asked.
	full := Identity{InstanceID: "i-1", PrivateIP: "127.0.0.5", AvailabilityZone: "eu-west-1a", InstanceType: "t", AMI: "ami-1"}
	id, err = loadBounded(t, IdentityConfig{Endpoint: "http://127.0.0.1:1", Override: full})
	if err != nil {
		t.Fatalf("fully overridden identity: %v", err)
	}
	if id.Region != "eu-west-1" || id.InstanceID != "i-1" {
		t.Fatalf("identity = %+v", id)
	}

	_, err = loadBounded(t, IdentityConfig{Override: Identity{InstanceID: "i-1", PrivateIP: "not-an-ip", AvailabilityZone: "eu-west-1a", Region: "r", InstanceType: "t", AMI: "a"}})
	if err == nil || !strings.Contains(err.Error(), "private_ip") {
		t.Fatalf("bad private_ip: err = %v, want one naming private_ip", err)
	}
}

func TestLoadIdentityIMDSDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + l.Addr().String()
	l.Close() // nothing listens there now

	_, err = loadBounded(t, IdentityConfig{Endpoint: endpoint})
	assertIdentityError(t, err, endpoint, "connection refused")
}

func TestLoadIdentityIMDSHangs(t *testing.T) {
	f := newFakeIMDS(t, func(f *fakeIMDS) { f.hang = true })
	start := time.Now()
	_, err := loadBounded(t, IdentityConfig{Endpoint: f.srv.URL, Timeout: time.Second})
	assertIdentityError(t, err, f.srv.URL, "")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("a hanging IMDS held LoadIdentity for %s with a 1s timeout", d)
	}
}

// TestLoadIdentityWaitsForASlowIMDS stalls the first requests, as an IMDS
// on a starved machine does: attempts go on until the timeout, not for a
// fixed three.
func TestLoadIdentityWaitsForASlowIMDS(t *testing.T) {
	f := newFakeIMDS(t, func(f *fakeIMDS) { f.stalls = 5 })
	id, err := loadBounded(t, IdentityConfig{Endpoint: f.srv.URL, Timeout: 8 * time.Second})
	if err != nil {
		t.Fatalf("LoadIdentity gave up on an IMDS that answers after %d stalled requests: %v", f.stalls, err)
	}
	if id.InstanceID != "i-0123456789abcdef0" {
		t.Errorf("InstanceID = %q", id.InstanceID)
	}
}

// TestLoadIdentityRefusedFailsAtOnce: a refused connection means there is
// no IMDS (not on EC2, or the endpoint is disabled); waiting the whole
// timeout for it would only delay the error.
func TestLoadIdentityRefusedFailsAtOnce(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + l.Addr().String()
	l.Close()
	start := time.Now()
	_, err = loadBounded(t, IdentityConfig{Endpoint: endpoint, Timeout: 10 * time.Second})
	assertIdentityError(t, err, endpoint, "connection refused")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("a refused IMDS took %s to report", d)
	}
}

func TestLoadIdentityIMDSv1Only(t *testing.T) {
	for _, status := range []int{http.StatusNotFound, http.StatusForbidden} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			f := newFakeIMDS(t, func(f *fakeIMDS) { f.v1Only = status })
			_, err := loadBounded(t, IdentityConfig{Endpoint: f.srv.URL})
			assertIdentityError(t, err, f.srv.URL, "IMDSv2 is required")
			if !strings.Contains(err.Error(), strconv.Itoa(status)) {
				t.Errorf("error %q does not give the token status %d", err, status)
			}
		})
	}
}

func TestLoadIdentityCanceled(t *testing.T) {
	f := newFakeIMDS(t, func(f *fakeIMDS) { f.hang = true })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := LoadIdentity(ctx, IdentityConfig{Endpoint: f.srv.URL})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("LoadIdentity with a canceled context = %v, want context.Canceled", err)
	}
}

func assertIdentityError(t *testing.T, err error, endpoint, cause string) {
	t.Helper()
	var ie *IdentityError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v (%T), want an *IdentityError", err, err)
	}
	msg := err.Error()
	for _, want := range []string{"at " + endpoint + ":", cause, "identity {", "FARMHAND_IMDS_ENDPOINT"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error spans lines: %q", msg)
	}
	t.Logf("error: %s", msg)
}
