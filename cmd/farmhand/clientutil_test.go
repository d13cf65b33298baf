package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/farmhand/farmhand/agent/client"
	"github.com/farmhand/farmhand/agent/localapi"
	"github.com/farmhand/farmhand/agent/localapi/localapitest"
	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/membership"
	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/testbed/testutil"
)

// apiResult is the outcome of one in-process CLI run.
type apiResult struct {
	code           int
	stdout, stderr string
}

// apiCLIWith runs the CLI in-process with the given streams and environment.
func apiCLIWith(ctx context.Context, stdout, stderr io.Writer, environ map[string]string, args ...string) int {
	env := &cmdEnv{Stdout: stdout, Stderr: stderr, Getenv: func(k string) string { return environ[k] }}
	return run(ctx, env, args)
}

// apiCLI runs the CLI in-process with an environment holding only environ.
func apiCLI(t *testing.T, environ map[string]string, args ...string) apiResult {
	t.Helper()
	var out, errb bytes.Buffer
	code := apiCLIWith(context.Background(), &out, &errb, environ, args...)
	return apiResult{code: code, stdout: out.String(), stderr: errb.String()}
}

var apiT0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// apiMember builds a member; tags are "k=v" strings.
func apiMember(name, addr string, st membership.Status, tags ...string) membership.Member {
	m := membership.Member{Name: name, Addr: addr, Port: 7946, Status: st, Since: apiT0, Tags: map[string]string{}}
	for _, kv := range tags {
		k, v, _ := strings.Cut(kv, "=")
		m.Tags[k] = v
	}
	return m
}

// apiAgent serves a fake agent (real clock) with a small view and returns
// it and its socket.
func apiAgent(t *testing.T) (*localapitest.Backend, string) {
	t.Helper()
	b := apiBackend()
	return b, localapitest.Serve(t, b)
}

func apiBackend() *localapitest.Backend {
	st := localapi.Status{
		Name: "i-0aa", Cluster: "prod", Addr: "10.0.0.1", Port: 7946, State: localapi.StateAlive, Version: "v1.2.3",
		Identity: bootstrap.Identity{InstanceID: "i-0aa", PrivateIP: "10.0.0.1", AvailabilityZone: "eu-west-1a",
			Region: "eu-west-1", InstanceType: "m7g.large", AMI: "ami-123"},
		Tags:      map[string]string{"role": "master", "az": "eu-west-1a"},
		StartedAt: apiT0, S3: map[string]int64{"put": 1, "list": 2, "get": 0, "delete": 0}, Joins: 3, Reconnects: 4,
	}
	return localapitest.NewBackend(clockwork.NewRealClock(), st,
		apiMember("i-0aa", "10.0.0.1", membership.StatusAlive, "role=master", "az=eu-west-1a"),
		apiMember("i-0bb", "10.0.0.2", membership.StatusAlive, "role=worker", "az=eu-west-1a", "rack=r2", "gpu=no"),
		apiMember("i-0cc", "10.0.0.3", membership.StatusDead, "role=worker", "az=eu-west-1b"),
		apiMember("i-0dd", "10.0.0.4", membership.StatusAlive, "role=worker", "az=eu-west-1b"),
	)
}

func TestSocketResolution(t *testing.T) {
	env := func(v string) *cmdEnv {
		return &cmdEnv{Getenv: func(k string) string {
			if k == "FARMHAND_SOCKET" {
				return v
			}
			return ""
		}}
	}
	for _, tc := range []struct{ flag, env, want string }{
		{"/a.sock", "/b.sock", "/a.sock"},
		{"", "/b.sock", "/b.sock"},
		{"", "", "/run/farmhand/farmhand.sock"},
	} {
		if got := socketPath(env(tc.env), tc.flag); got != tc.want {
			t.Errorf("socketPath(flag %q, env %q) = %q, want %q", tc.flag, tc.env, got, tc.want)
		}
	}
}

func TestNoAgentErrorText(t *testing.T) {
	missing := filepath.Join(localapitest.SocketDir(t), "none.sock")
	want := "cannot reach the farmhand agent at " + missing + ": agent not running? (start it with 'systemctl start farmhand', or set -socket / FARMHAND_SOCKET)"
	for _, r := range []apiResult{
		apiCLI(t, nil, "members", "-socket", missing),
		apiCLI(t, map[string]string{"FARMHAND_SOCKET": missing}, "info"),
		apiCLI(t, map[string]string{"FARMHAND_SOCKET": missing}, "leave"),
	} {
		if r.code != 1 || !strings.Contains(r.stderr, want) {
			t.Errorf("no agent: exit %d, stderr %q; want 1 and %q", r.code, r.stderr, want)
		}
	}
}

// TestPermissionDeniedErrorText locks the socket's directory and checks
// the advice. Root ignores permissions, so as root the test reruns itself
// as user nobody.
func TestPermissionDeniedErrorText(t *testing.T) {
	if os.Getuid() == 0 {
		rerunAsNobody(t, "TestPermissionDeniedErrorText")
		return
	}
	_, sock := apiAgent(t)
	dir := filepath.Dir(sock)
	if err := os.Chmod(dir, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	r := apiCLI(t, nil, "members", "-socket", sock)
	want := "permission denied on " + sock + ": run as root or join group farmhand"
	if r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("locked socket: exit %d, stderr %q; want 1 and %q", r.code, r.stderr, want)
	}
}

// rerunAsNobody runs test name of this test binary as user nobody and
// fails t unless it passes there.
func rerunAsNobody(t *testing.T, name string) {
	t.Helper()
	uid, gid := testutil.Nobody(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The test binary sits in a directory only root can enter: copy it out.
	dir := localapitest.SocketDir(t)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "farmhand.test")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-test.run=^"+name+"$", "-test.v", "-test.count=1")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TMPDIR=/tmp", "GOCOVERDIR=")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+name) {
		t.Fatalf("%s as nobody: %v\n%s", name, err, out)
	}
	t.Logf("%s passed as nobody (uid %d):\n%s", name, uid, out)
}

func TestClientFailureExitCodes(t *testing.T) {
	var errb bytes.Buffer
	env := &cmdEnv{Stdout: io.Discard, Stderr: &errb}
	bad := &client.Error{Kind: client.ErrBadRequest, Message: "query parameter status: nope"}
	if code := clientFailure(env, "members", bad); code != exitUsage {
		t.Errorf("bad request: exit %d, want %d", code, exitUsage)
	}
	if code := clientFailure(env, "members", &client.Error{Kind: client.ErrPermission, Message: "denied"}); code != 1 {
		t.Errorf("permission: exit %d, want 1", code)
	}
	if code := clientFailure(env, "members", errors.New("boom")); code != 1 {
		t.Errorf("other: exit %d, want 1", code)
	}
	if !strings.Contains(errb.String(), "farmhand members: query parameter status: nope\n") {
		t.Errorf("stderr %q lacks the message", errb.String())
	}
}
