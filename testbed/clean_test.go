package testbed

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/farmhand/farmhand/testbed/testutil"
)

// A `farmhand-testbed up` killed with SIGKILL cannot tear down: its agents
// die with it (Pdeathsig), and `farmhand-testbed clean` removes the rest
// (state file, control socket, agent sockets and, as root, the namespaces
// and the bridge).
func TestCleanAfterTestbedIsKilled(t *testing.T) {
	needE2E(t)
	dir := shortDir(t)
	args := []string{"up", "-nodes", "2", "-dir", dir}
	if os.Geteuid() == 0 {
		args = append(args, "-netns") // leaves namespaces and a bridge to clean
	} else {
		t.Log("not root: checking clean in loopback mode only")
	}
	up := exec.Command(testutil.TestbedBinary(t), args...)
	var output bytes.Buffer
	up.Stdout, up.Stderr = &output, &output
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	t.Cleanup(func() {
		if !waited {
			up.Process.Kill()
			up.Wait()
		}
		if t.Failed() {
			t.Logf("farmhand-testbed up said:\n%s", output.String())
		}
	})
	var st *State
	testutil.Run(t, formTimeout, func(r *testutil.R) {
		s, err := ReadState(dir)
		if err != nil {
			r.Fatalf("%v", err)
		}
		if len(s.Instances) != 2 {
			r.Fatalf("%d instances in testbed.json, want 2", len(s.Instances))
		}
		for _, in := range s.Instances {
			if in.Agent != agentRunning || !processAlive(in.PID) {
				r.Fatalf("instance %s: agent %s, pid %d", in.ID, in.Agent, in.PID)
			}
			if _, err := os.Stat(in.Socket); err != nil {
				r.Fatalf("agent socket: %v", err)
			}
		}
		st = s
	})

	if err := up.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	up.Wait()
	waited = true
	testutil.Run(t, detectTimeout, func(r *testutil.R) {
		for _, in := range st.Instances {
			if processAlive(in.PID) {
				r.Fatalf("agent of %s (pid %d) outlived its testbed", in.ID, in.PID)
			}
		}
	})
	if _, err := os.Stat(st.Control); err != nil {
		t.Fatalf("a SIGKILLed testbed should leave its control socket for clean to remove: %v", err)
	}

	out, errOut, code := runCLI(t, "clean", "-dir", dir)
	if code != 0 {
		t.Fatalf("clean: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	t.Logf("clean said:\n%s", out)
	for _, want := range []string{"removed " + st.Control, "removed " + st.Instances[0].Socket} {
		if !strings.Contains(out, want) {
			t.Errorf("clean output lacks %q", want)
		}
	}
	if st.Netns && !strings.Contains(out, "deleted bridge "+st.Bridge) {
		t.Errorf("clean output lacks the bridge %s", st.Bridge)
	}
	assertTornDown(t, dir, st)

	// A second clean finds no testbed.
	if _, errOut, code := runCLI(t, "clean", "-dir", dir); code != 1 || !strings.Contains(errOut, "no testbed") {
		t.Errorf("second clean: exit %d, stderr %q; want 1 and 'no testbed'", code, errOut)
	}
}
