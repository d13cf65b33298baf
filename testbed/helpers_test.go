package testbed

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/farmhand/farmhand/agent/client"
	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// Deadlines of the end-to-end tests. Agents run the "local" gossip profile
// (200 ms probes), so a farm forms and a crash is seen in a few seconds;
// the deadlines leave room for a loaded 2-core machine.
const (
	formTimeout   = 30 * time.Second
	detectTimeout = 20 * time.Second
	cliTimeout    = 30 * time.Second
)

// needE2E skips end-to-end tests under -short (make test-short runs no
// external processes).
func needE2E(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test with real farmhand agent processes; skipped with -short")
	}
}

// shortDir returns a fresh testbed directory with a short path: agent
// sockets live below it, and unix socket paths are limited to 107 bytes,
// which t.TempDir's long names can exceed.
func shortDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "tb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// startFarm starts a testbed of real agent processes and closes it when the
// test ends; if the test failed, it first logs the end of every agent log.
func startFarm(t *testing.T, nodes int, mutate func(*Config)) *Testbed {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Dir = shortDir(t)
	cfg.Nodes = nodes
	cfg.Bin = testutil.FarmhandBinary(t)
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "testbed", Level: hclog.Warn, Output: testutil.LogWriter(t)})
	if mutate != nil {
		mutate(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), formTimeout)
	defer cancel()
	tb, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("testbed.Start: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			logAgentLogs(t, tb.State())
		}
		if err := tb.Close(); err != nil {
			t.Errorf("testbed Close: %v", err)
		}
	})
	return tb
}

// logAgentLogs logs the last lines of every agent's log, for diagnosis.
func logAgentLogs(t *testing.T, st *State) {
	t.Helper()
	for _, in := range st.Instances {
		data, err := os.ReadFile(in.Log)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		t.Logf("--- %s (%s) agent log, last lines:\n%s", in.ID, in.IP, strings.Join(lines[max(0, len(lines)-25):], "\n"))
	}
}

// socketsOf returns the agent socket of each of ids.
func socketsOf(t *testing.T, st *State, ids ...string) map[string]string {
	t.Helper()
	out := make(map[string]string, len(ids))
	for _, id := range ids {
		in, err := st.Instance(id)
		if err != nil {
			t.Fatal(err)
		}
		out[id] = in.Socket
	}
	return out
}

// viewOf returns the members an agent reports, status by name.
func viewOf(ctx context.Context, socket string) (map[string]membership.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	ms, err := client.New(socket).Members(ctx, client.Filter{})
	if err != nil {
		return nil, err
	}
	v := make(map[string]membership.Status, len(ms))
	for _, m := range ms {
		v[m.Name] = m.Status
	}
	return v, nil
}

// viewCheck judges one agent's view.
type viewCheck func(v map[string]membership.Status) error

// checkViews asks every observer (id -> socket) for its view and returns
// the first failed check, naming the observer.
func checkViews(ctx context.Context, observers map[string]string, check viewCheck) error {
	ids := make([]string, 0, len(observers))
	for id := range observers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		v, err := viewOf(ctx, observers[id])
		if err != nil {
			return fmt.Errorf("agent of %s: %w", id, err)
		}
		if err := check(v); err != nil {
			return fmt.Errorf("agent of %s: %w (view %v)", id, err, v)
		}
	}
	return nil
}

// waitViews polls until every observer's view passes check.
func waitViews(t *testing.T, timeout time.Duration, observers map[string]string, check viewCheck) {
	t.Helper()
	testutil.Run(t, timeout, func(r *testutil.R) {
		if err := checkViews(context.Background(), observers, check); err != nil {
			r.Fatalf("%v", err)
		}
	})
}

// holdViews asserts that every observer's view passes check on every poll
// (every 100 ms) for the whole window.
func holdViews(t *testing.T, window time.Duration, observers map[string]string, check viewCheck) (polls int) {
	t.Helper()
	end := time.After(window)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := checkViews(context.Background(), observers, check); err != nil {
			t.Fatalf("after %d polls: %v", polls, err)
		}
		polls++
		select {
		case <-end:
			return polls
		case <-tick.C:
		}
	}
}

// aliveExactly passes when the alive members are exactly ids.
func aliveExactly(ids ...string) viewCheck {
	want := slices.Sorted(slices.Values(ids))
	return func(v map[string]membership.Status) error {
		var alive []string
		for name, s := range v {
			if s == membership.StatusAlive {
				alive = append(alive, name)
			}
		}
		sort.Strings(alive)
		if !slices.Equal(alive, want) {
			return fmt.Errorf("alive %v, want %v", alive, want)
		}
		return nil
	}
}

// seenAs passes when each of ids has one of statuses.
func seenAs(ids []string, statuses ...membership.Status) viewCheck {
	return func(v map[string]membership.Status) error {
		for _, id := range ids {
			if s, ok := v[id]; !ok || !slices.Contains(statuses, s) {
				return fmt.Errorf("%s is %q, want one of %v", id, s, statuses)
			}
		}
		return nil
	}
}

// both passes when every check passes.
func both(checks ...viewCheck) viewCheck {
	return func(v map[string]membership.Status) error {
		for _, c := range checks {
			if err := c(v); err != nil {
				return err
			}
		}
		return nil
	}
}

// runCLI runs the farmhand binary and returns its stdout, stderr and exit
// code.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	code, stdout, stderr = testutil.RunCommand(t, exec.CommandContext(ctx, testutil.FarmhandBinary(t), args...))
	return stdout, stderr, code
}

// assertTornDown checks that nothing of the testbed described by st is
// left: no agent process, namespace, bridge, socket or state file.
func assertTornDown(t *testing.T, dir string, st *State) {
	t.Helper()
	for _, in := range st.Instances {
		if in.PID > 0 && processAlive(in.PID) {
			t.Errorf("agent of %s (pid %d) still running", in.ID, in.PID)
		}
		if _, err := os.Stat(in.Socket); !os.IsNotExist(err) {
			t.Errorf("agent socket %s left behind (stat: %v)", in.Socket, err)
		}
	}
	for _, f := range []string{StateFile, ControlSocket} {
		if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s left behind in %s (stat: %v)", f, dir, err)
		}
	}
	if !st.Netns {
		return
	}
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v: %s", err, out)
	}
	// The testbed's namespaces are fhK-0, fhK-1, ...: prefix "fhK-".
	prefixes := map[string]bool{}
	for _, in := range st.Instances {
		if i := strings.LastIndexByte(in.Netns, '-'); i > 0 {
			prefixes[in.Netns[:i+1]] = true
		}
	}
	if len(prefixes) == 0 {
		t.Errorf("netns testbed state names no namespace")
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		name, _, _ := strings.Cut(sc.Text(), " ")
		for p := range prefixes {
			if strings.HasPrefix(name, p) {
				t.Errorf("namespace %s left behind", name)
			}
		}
	}
	if st.Bridge == "" {
		t.Errorf("netns testbed state names no bridge")
	} else if err := exec.Command("ip", "link", "show", st.Bridge).Run(); err == nil {
		t.Errorf("bridge %s left behind", st.Bridge)
	}
}
