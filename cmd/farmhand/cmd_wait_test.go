package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/farmhand/farmhand/agent/client"
	"github.com/farmhand/farmhand/agent/localapi"
	"github.com/farmhand/farmhand/agent/localapi/localapitest"
	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed/testutil"
	"github.com/jonboulle/clockwork"
)

func TestWaitCheck(t *testing.T) {
	g := waitGoal{Min: 3, Role: "worker", Stable: 10 * time.Second}
	for _, tc := range []struct {
		alive  int
		stable time.Duration
		done   bool
		why    string
	}{
		{2, time.Hour, false, "2 of 3 members alive (role=worker)"},
		{3, 9 * time.Second, false, "3 of 3 members alive (role=worker), but the view changed 9s ago (want it stable for 10s)"},
		{3, 10 * time.Second, true, ""},
		{4, time.Minute, true, ""},
	} {
		done, why := g.check(tc.alive, tc.stable)
		if done != tc.done || why != tc.why {
			t.Errorf("check(%d, %s) = %v, %q; want %v, %q", tc.alive, tc.stable, done, why, tc.done, tc.why)
		}
	}
	if got := (waitGoal{Min: 1}).count(0); got != "0 of 1 members alive" {
		t.Errorf("count without role = %q", got)
	}
}

func TestWaitSucceeds(t *testing.T) {
	_, sock := apiAgent(t)
	r := apiCLI(t, nil, "wait", "-socket", sock, "-min", "2", "-role", "worker", "-stable", "300ms", "-timeout", "30s")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if r.stderr != "" || r.stdout != "" {
		t.Errorf("output %q, stderr %q; want silence when stderr is not a terminal", r.stdout, r.stderr)
	}
}

func TestWaitTimesOut(t *testing.T) {
	_, sock := apiAgent(t)
	r := apiCLI(t, nil, "wait", "-socket", sock, "-min", "5", "-role", "worker", "-timeout", "600ms")
	want := "farmhand wait: timed out after 600ms: 2 of 5 members alive (role=worker)\n"
	if r.code != 1 || !strings.HasSuffix(r.stderr, want) {
		t.Errorf("exit %d, stderr %q; want 1 ending in %q", r.code, r.stderr, want)
	}
	if r.stderr != want {
		t.Errorf("want only the error (no progress when stderr is not a terminal), got %q", r.stderr)
	}
}

func TestWaitNoAgentTimesOut(t *testing.T) {
	sock := filepath.Join(localapitest.SocketDir(t), "late.sock")
	r := apiCLI(t, nil, "wait", "-socket", sock, "-min", "1", "-timeout", "400ms")
	if r.code != 1 || !strings.Contains(r.stderr, "timed out after 400ms: cannot reach the farmhand agent at "+sock) {
		t.Errorf("exit %d, stderr %q; want 1 naming the socket", r.code, r.stderr)
	}
}

func TestWaitForLateAgent(t *testing.T) {
	sock := filepath.Join(localapitest.SocketDir(t), "late.sock")
	var stderr testutil.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	codes := make(chan int, 1)
	go func() {
		err := waitFor(ctx, clockwork.NewRealClock(), client.New(sock), waitGoal{Min: 3}, time.Minute, &stderr)
		codes <- map[bool]int{true: 0, false: 1}[err == nil]
	}()
	testutil.Run(t, 10*time.Second, func(r *testutil.R) {
		if !strings.Contains(stderr.String(), "waiting for the agent at "+sock+" to answer") {
			r.Fatalf("no waiting line yet: %q", stderr.String())
		}
	})
	localapitest.ServeAt(t, apiBackend(), sock)
	select {
	case code := <-codes:
		if code != 0 || !strings.Contains(stderr.String(), "3 of 3 members alive: ready") {
			t.Errorf("exit %d, stderr %q; want 0 once the agent came up", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		cancel()
		<-codes
		t.Fatalf("wait did not finish after the agent came up; stderr %q", stderr.String())
	}
}

func TestWaitInterrupted(t *testing.T) {
	_, sock := apiAgent(t)
	var stderr testutil.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 1)
	go func() {
		errs <- waitFor(ctx, clockwork.NewRealClock(), client.New(sock), waitGoal{Min: 9}, 0, &stderr)
	}()
	testutil.Run(t, 10*time.Second, func(r *testutil.R) {
		if !strings.Contains(stderr.String(), "3 of 9 members alive\n") {
			r.Fatalf("no progress yet: %q", stderr.String())
		}
	})
	cancel()
	if err := <-errs; err == nil || !strings.Contains(err.Error(), "interrupted after") {
		t.Errorf("waitFor = %v; want it to say interrupted", err)
	}
}

func TestWaitUsage(t *testing.T) {
	for _, args := range [][]string{
		{"wait"},
		{"wait", "-min", "0"},
		{"wait", "-min", "2", "-stable", "-1s"},
		{"wait", "-min", "2", "-timeout", "soon"},
		{"wait", "-min", "2", "now"},
	} {
		if r := apiCLI(t, nil, args...); r.code != 2 || r.stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 with a message", args, r.code, r.stderr)
		}
	}
}

// fakeWait runs waitFor on a fake clock against a fake agent of that clock.
// result blocks until waitFor returns and gives its error.
func fakeWait(t *testing.T, g waitGoal, timeout time.Duration) (fc *clockwork.FakeClock, progress *testutil.Buffer, result func() error) {
	t.Helper()
	fc = clockwork.NewFakeClockAt(apiT0)
	b := localapitest.NewBackend(fc, localapi.Status{Name: "i-0aa"},
		apiMember("i-0aa", "10.0.0.1", membership.StatusAlive, "role=worker"),
		apiMember("i-0bb", "10.0.0.2", membership.StatusAlive, "role=worker"),
	)
	c := client.New(localapitest.Serve(t, b))
	progress = &testutil.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var err error
	go func() {
		defer close(done)
		err = waitFor(ctx, fc, c, g, timeout, progress)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return fc, progress, func() error { <-done; return err }
}

// awaitLine waits until progress holds line.
func awaitLine(t *testing.T, progress *testutil.Buffer, line string) {
	t.Helper()
	testutil.Run(t, 10*time.Second, func(r *testutil.R) {
		if !strings.Contains(progress.String(), line) {
			r.Fatalf("progress %q lacks %q", progress.String(), line)
		}
	})
}

func TestWaitStabilityOnFakeClock(t *testing.T) {
	fc, progress, result := fakeWait(t, waitGoal{Min: 2, Role: "worker", Stable: 10 * time.Second}, 0)
	// The view changed "now": enough members, not yet stable.
	awaitLine(t, progress, "2 of 2 members alive (role=worker); waiting for the view to be stable for 10s\n")
	fc.Advance(10 * time.Second)
	awaitLine(t, progress, "2 of 2 members alive (role=worker), view stable for 10s: ready\n")
	if err := result(); err != nil {
		t.Errorf("waitFor = %v, want nil", err)
	}
}

func TestWaitTimeoutOnFakeClock(t *testing.T) {
	fc, progress, result := fakeWait(t, waitGoal{Min: 5, Role: "worker"}, time.Hour)
	awaitLine(t, progress, "2 of 5 members alive (role=worker); 1h0m0s left\n")
	fc.Advance(20 * time.Minute)
	awaitLine(t, progress, "2 of 5 members alive (role=worker); 40m0s left\n")
	fc.Advance(40 * time.Minute)
	err := result()
	if err == nil || err.Error() != "timed out after 1h0m0s: 2 of 5 members alive (role=worker)" {
		t.Errorf("waitFor = %v, want the timeout with the count", err)
	}
}

// A draining member is going away: wait -min does not count it, and
// members -status draining lists it.
func TestWaitDoesNotCountDraining(t *testing.T) {
	b := localapitest.NewBackend(clockwork.NewRealClock(), localapi.Status{Name: "i-0aa"},
		apiMember("i-0aa", "10.0.0.1", membership.StatusAlive, "role=worker"),
		apiMember("i-0bb", "10.0.0.2", membership.StatusDraining, "role=worker"),
		apiMember("i-0cc", "10.0.0.3", membership.StatusAlive, "role=worker"),
	)
	sock := localapitest.Serve(t, b)
	alive, _, err := pollWait(context.Background(), client.New(sock), waitGoal{Min: 3, Role: "worker"})
	if err != nil || alive != 2 {
		t.Errorf("pollWait = %d, %v; want 2 (the draining member not counted)", alive, err)
	}
	r := apiCLI(t, nil, "members", "-socket", sock, "-status", "draining", "-format", "addrs")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "10.0.0.2" {
		t.Errorf("members -status draining: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}
