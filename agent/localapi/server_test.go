package localapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/farmhand/farmhand/agent/localapi"
	"github.com/farmhand/farmhand/agent/localapi/localapitest"
	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed/testutil"
	"github.com/jonboulle/clockwork"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func member(name string, st membership.Status, tags ...string) membership.Member {
	m := membership.Member{Name: name, Addr: "10.0.0." + name[len(name)-1:], Port: 7946, Status: st, Since: t0, Tags: map[string]string{}}
	for _, kv := range tags {
		k, v, _ := strings.Cut(kv, "=")
		m.Tags[k] = v
	}
	return m
}

func testBackend() *localapitest.Backend {
	st := localapi.Status{
		Name: "i-1", Cluster: "prod", Addr: "10.0.0.1", Port: 7946, State: localapi.StateAlive, Version: "v9",
		Identity:  bootstrap.Identity{InstanceID: "i-1", PrivateIP: "10.0.0.1", AvailabilityZone: "eu-west-1a"},
		Tags:      map[string]string{"role": "worker"},
		StartedAt: t0, S3: map[string]int64{"put": 1, "list": 2}, Joins: 3, Reconnects: 4,
	}
	return localapitest.NewBackend(clockwork.NewFakeClockAt(t0), st,
		member("i-3", membership.StatusDead, "role=worker", "az=b"),
		member("i-1", membership.StatusAlive, "role=worker", "az=a", "rack=r1"),
		member("i-2", membership.StatusAlive, "role=master", "az=a"),
		member("i-4", membership.StatusAlive, "role=worker", "az=b", "rack=r2"),
	)
}

// call sends one request over the socket and returns the status, headers and body.
func call(t *testing.T, sock, method, target string) (int, http.Header, []byte) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	req, err := http.NewRequest(method, "http://farmhand"+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", method, target, ct)
	}
	return resp.StatusCode, resp.Header, body
}

func decode[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	return v
}

func names(ms []membership.Member) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return out
}

func TestStatus(t *testing.T) {
	b := testBackend()
	sock := localapitest.Serve(t, b)
	code, _, body := call(t, sock, "GET", "/v1/status")
	if code != 200 {
		t.Fatalf("GET /v1/status: %d %s", code, body)
	}
	want, _ := b.Status(context.Background())
	got := decode[localapi.Status](t, body)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("status:\n got %+v\nwant %+v", got, want)
	}
	if got.Counts["alive"] != 3 || got.Counts["dead"] != 1 {
		t.Errorf("counts %v, want alive=3 dead=1", got.Counts)
	}
	raw := decode[map[string]any](t, body)
	for _, k := range []string{"name", "cluster", "addr", "port", "state", "version", "identity", "started_at", "last_change", "counts", "s3", "joins", "reconnects"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("status JSON lacks %q: %s", k, body)
		}
	}
}

func TestMembersFilters(t *testing.T) {
	sock := localapitest.Serve(t, testBackend())
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{"i-1", "i-2", "i-3", "i-4"}},
		{"?status=alive", []string{"i-1", "i-2", "i-4"}},
		{"?status=dead", []string{"i-3"}},
		{"?status=left", []string{}},
		{"?role=worker", []string{"i-1", "i-3", "i-4"}},
		{"?role=worker&status=alive", []string{"i-1", "i-4"}},
		{"?tag=az=b", []string{"i-3", "i-4"}},
		{"?tag=az=b&tag=rack=r2", []string{"i-4"}},
		{"?tag=rack=r1&role=master", []string{}},
		{"?tag=rack=", []string{}},
		{"?status=", []string{"i-1", "i-2", "i-3", "i-4"}},
	} {
		code, _, body := call(t, sock, "GET", "/v1/members"+tc.query)
		if code != 200 {
			t.Errorf("GET /v1/members%s: %d %s", tc.query, code, body)
			continue
		}
		resp := decode[localapi.MembersResponse](t, body)
		if got := names(resp.Members); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("GET /v1/members%s = %v, want %v", tc.query, got, tc.want)
		}
		if !strings.HasPrefix(string(body), `{"members":[`) {
			t.Errorf("GET /v1/members%s: body %s, want {\"members\":[...]}", tc.query, body)
		}
	}
}

func TestMembersJSONShape(t *testing.T) {
	sock := localapitest.Serve(t, testBackend())
	_, _, body := call(t, sock, "GET", "/v1/members?tag=rack=r1")
	got := decode[map[string][]map[string]any](t, body)
	if len(got["members"]) != 1 {
		t.Fatalf("members: %s", body)
	}
	m := got["members"][0]
	for k, want := range map[string]any{"name": "i-1", "addr": "10.0.0.1", "port": 7946.0, "status": "alive", "since": t0.Format(time.RFC3339)} {
		if m[k] != want {
			t.Errorf("member %q = %v, want %v", k, m[k], want)
		}
	}
	if tags, _ := m["tags"].(map[string]any); tags["rack"] != "r1" || tags["role"] != "worker" {
		t.Errorf("member tags = %v", m["tags"])
	}
}

func TestErrors(t *testing.T) {
	sock := localapitest.Serve(t, testBackend())
	for _, tc := range []struct {
		method, target string
		code           int
		wantIn         string
	}{
		{"GET", "/v1/members?status=zombie", 400, "query parameter status"},
		{"GET", "/v1/members?tag=novalue", 400, "query parameter tag"},
		{"GET", "/v1/members?tag==v", 400, "query parameter tag"},
		{"GET", "/v1/members?tag=a=1&tag=a=2", 400, "query parameter tag"},
		{"GET", "/v1/members?role=a&role=b", 400, "query parameter role"},
		{"GET", "/v1/members?stauts=alive", 400, `"stauts"`},
		{"POST", "/v1/members", 405, "use GET"},
		{"GET", "/v1/leave", 405, "use POST"},
		{"DELETE", "/v1/status", 405, "use GET"},
		{"GET", "/v1/nope", 404, "/v1/members"},
		{"GET", "/", 404, "/v1/status"},
	} {
		code, hdr, body := call(t, sock, tc.method, tc.target)
		e := decode[localapi.ErrorResponse](t, body)
		if code != tc.code || !strings.Contains(e.Error, tc.wantIn) {
			t.Errorf("%s %s = %d %q, want %d containing %q", tc.method, tc.target, code, e.Error, tc.code, tc.wantIn)
		}
		if tc.code == 405 && hdr.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without an Allow header", tc.method, tc.target)
		}
	}
}

func TestBackendErrorIs500(t *testing.T) {
	b := testBackend()
	sock := localapitest.Serve(t, b)
	b.FailWith(errors.New("memberlist is gone"))
	for _, r := range [][2]string{{"GET", "/v1/status"}, {"GET", "/v1/members"}, {"POST", "/v1/leave"}, {"POST", "/v1/reload"}} {
		code, _, body := call(t, sock, r[0], r[1])
		e := decode[localapi.ErrorResponse](t, body)
		if code != 500 || !strings.Contains(e.Error, "memberlist is gone") {
			t.Errorf("%s %s = %d %q, want 500 with the backend's message", r[0], r[1], code, e.Error)
		}
	}
	b.FailWith(localapi.Errorf(http.StatusServiceUnavailable, "still bootstrapping"))
	if code, _, body := call(t, sock, "GET", "/v1/members"); code != 503 || !strings.Contains(string(body), "still bootstrapping") {
		t.Errorf("backend HTTPError: got %d %s, want 503 with its message", code, body)
	}
}

func TestLeaveAndReload(t *testing.T) {
	b := testBackend()
	sock := localapitest.Serve(t, b)
	code, _, body := call(t, sock, "POST", "/v1/reload")
	if code != 200 || b.Reloads() != 1 || decode[localapi.ReloadResponse](t, body).Message == "" {
		t.Errorf("POST /v1/reload = %d %s, reloads %d; want 200 with a message and 1 reload", code, body, b.Reloads())
	}
	code, _, body = call(t, sock, "POST", "/v1/leave")
	lr := decode[localapi.LeaveResponse](t, body)
	if code != 200 || b.Leaves() != 1 || lr.Name != "i-1" || lr.Cluster != "prod" || lr.State != localapi.StateLeft || !strings.Contains(lr.Message, "left cluster prod") {
		t.Errorf("POST /v1/leave = %d %+v, leaves %d", code, lr, b.Leaves())
	}
}

func TestLeaveStillUnderWay(t *testing.T) {
	b := testBackend()
	b.LeaveTo(localapi.StateLeaving)
	sock := localapitest.Serve(t, b)
	code, _, body := call(t, sock, "POST", "/v1/leave")
	lr := decode[localapi.LeaveResponse](t, body)
	if code != 200 || lr.State != localapi.StateLeaving || !strings.Contains(lr.Message, "is leaving cluster prod") {
		t.Errorf("POST /v1/leave with an asynchronous leave = %d %+v", code, lr)
	}
}

// serve runs a server on a fresh socket and returns the socket, the cancel
// function and the channel Run's result arrives on.
func serve(t *testing.T, b localapi.Backend, shutdown time.Duration) (string, context.CancelFunc, <-chan error) {
	t.Helper()
	cfg := localapi.DefaultConfig()
	cfg.Backend = b
	cfg.ShutdownTimeout = shutdown
	return serveConfig(t, cfg)
}

// serveConfig runs a server of cfg on a new socket until the test ends.
func serveConfig(t *testing.T, cfg localapi.Config) (string, context.CancelFunc, <-chan error) {
	t.Helper()
	sock := filepath.Join(localapitest.SocketDir(t), "s.sock")
	ln, err := localapi.Listen(sock, 0o600, "")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := localapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln) }()
	t.Cleanup(cancel)
	return sock, cancel, done
}

func waitRun(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of cancel")
		return nil
	}
}

func TestRunReturnsNilOnCancelAndRemovesSocket(t *testing.T) {
	sock, cancel, done := serve(t, testBackend(), time.Second)
	if code, _, _ := call(t, sock, "GET", "/v1/status"); code != 200 {
		t.Fatalf("status %d", code)
	}
	cancel()
	if err := waitRun(t, done); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if conn, err := net.Dial("unix", sock); err == nil {
		conn.Close()
		t.Error("socket still answers after Run returned")
	}
	if m, _ := filepath.Glob(sock + "*"); len(m) != 0 {
		t.Errorf("socket files left behind: %v", m)
	}
}

// inflight starts a request in the background and reports its status code.
func inflight(t *testing.T, sock, method, target string) <-chan int {
	codes := make(chan int, 1)
	go func() {
		hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}}
		req, _ := http.NewRequest(method, "http://farmhand"+target, nil)
		resp, err := hc.Do(req)
		if err != nil {
			codes <- -1
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		codes <- resp.StatusCode
	}()
	return codes
}

// waitHeld waits until a request is held inside the blocked backend.
func waitHeld(t *testing.T, b *localapitest.Backend) {
	t.Helper()
	testutil.Run(t, 5*time.Second, func(r *testutil.R) {
		if b.Waiting() == 0 {
			r.Fatalf("no request reached the backend")
		}
	})
}

func TestRunLetsInflightRequestsFinish(t *testing.T) {
	b := testBackend()
	release := b.Block()
	defer release()
	sock, cancel, done := serve(t, b, time.Minute)
	codes := inflight(t, sock, "POST", "/v1/reload")
	waitHeld(t, b)
	cancel()
	testutil.Run(t, 5*time.Second, func(r *testutil.R) {
		if conn, err := net.Dial("unix", sock); err == nil {
			conn.Close()
			r.Fatalf("still accepting after cancel")
		}
	})
	select {
	case err := <-done:
		t.Fatalf("Run returned %v before the in-flight request finished", err)
	default:
	}
	release()
	if code := <-codes; code != 200 {
		t.Errorf("in-flight request got %d, want 200", code)
	}
	if err := waitRun(t, done); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if b.Reloads() != 1 {
		t.Errorf("reloads = %d, want 1", b.Reloads())
	}
}

func TestRunCancelsRequestsAfterShutdownTimeout(t *testing.T) {
	b := testBackend()
	release := b.Block()
	defer release()
	sock, cancel, done := serve(t, b, 50*time.Millisecond)
	codes := inflight(t, sock, "GET", "/v1/members")
	waitHeld(t, b)
	cancel()
	if err := waitRun(t, done); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if code := <-codes; code == 200 {
		t.Errorf("stuck request answered 200 after a forced shutdown")
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := localapi.New(localapi.DefaultConfig()); err == nil || !strings.Contains(err.Error(), "Backend") {
		t.Errorf("New without Backend: %v, want an error naming Backend", err)
	}
	cfg := localapi.DefaultConfig()
	cfg.Backend = testBackend()
	cfg.ShutdownTimeout = 0
	if _, err := localapi.New(cfg); err == nil || !strings.Contains(err.Error(), "ShutdownTimeout") {
		t.Errorf("New with zero ShutdownTimeout: %v, want an error naming it", err)
	}
}

func TestNewServer(t *testing.T) {
	srv := localapi.NewServer(testBackend(), nil)
	sock := filepath.Join(localapitest.SocketDir(t), "n.sock")
	ln, err := localapi.Listen(sock, 0o600, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln) }()
	code, _, _ := call(t, sock, "GET", "/v1/status")
	cancel()
	if err := waitRun(t, done); err != nil || code != 200 {
		t.Errorf("NewServer: status %d, Run %v; want 200 and nil", code, err)
	}
	defer func() {
		if recover() == nil {
			t.Error("NewServer(nil, nil) did not panic")
		}
	}()
	localapi.NewServer(nil, nil)
}
