package testbed

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/farmhand/farmhand/testbed/testutil"
)

// nobody is the unprivileged user the demo runs as when the tests run as
// root: `make demo` must work without root.
const nobody = 65534

// `make demo` runs `farmhand-testbed demo -nodes 5 -dir D`: its live view
// reports the farm formed, and Ctrl-C (SIGINT) tears everything down and
// exits 0.
func TestDemoFormsAndCtrlCTearsDown(t *testing.T) {
	needE2E(t)
	bin := testutil.TestbedBinary(t)
	agentBin := testutil.FarmhandBinary(t)
	dir := shortDir(t)
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		// As a user would: unprivileged, with binaries and a directory
		// of their own.
		bin = copyFile(t, bin, filepath.Join(dir, "farmhand-testbed"), 0o755)
		copyFile(t, agentBin, filepath.Join(dir, "farmhand"), 0o755)
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(dir, "demo")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		cred = &syscall.Credential{Uid: nobody, Gid: nobody}
	}
	demo := exec.Command(bin, "demo", "-nodes", "5", "-dir", dir)
	if os.Geteuid() == 0 {
		// The farmhand beside farmhand-testbed, as bin/ holds them.
		demo.Env = envWithout("FARMHAND_BIN")
	}
	demo.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	var stderr bytes.Buffer
	demo.Stderr = &stderr
	stdout, err := demo.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	t.Cleanup(func() {
		if !waited {
			demo.Process.Kill()
			demo.Wait()
		}
		if t.Failed() {
			t.Logf("demo stderr:\n%s", stderr.String())
		}
	})

	// The scanner goroutine ends when the demo exits and closes stdout.
	lines := make(chan string, 100)
	var seen bytes.Buffer
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		io.Copy(io.Discard, stdout)
	}()
	deadline := time.After(formTimeout)
	for formed := false; !formed; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("demo exited before the farm formed; stdout:\n%s", seen.String())
			}
			seen.WriteString(l + "\n")
			formed = strings.Contains(l, "farm formed: every agent sees 5 alive")
		case <-deadline:
			t.Fatalf("no 'farm formed' line after %s; stdout:\n%s", formTimeout, seen.String())
		}
	}
	for _, want := range []string{"FARMHAND_SOCKET=", "farmhand members", "testbed crash"} {
		if !strings.Contains(seen.String(), want) {
			t.Errorf("the demo does not tell the user about %q; stdout:\n%s", want, seen.String())
		}
	}
	st, err := ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Instances) != 5 {
		t.Fatalf("testbed.json lists %d instances, want 5", len(st.Instances))
	}

	if err := demo.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for stopped := false; !stopped; { // drain until the demo closes stdout
		select {
		case _, ok := <-lines:
			stopped = !ok
		case <-time.After(detectTimeout):
			t.Fatalf("demo still running %s after SIGINT", detectTimeout)
		}
	}
	err = demo.Wait()
	waited = true
	if err != nil {
		t.Fatalf("demo after SIGINT: %v (want exit 0); stderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "farm torn down") {
		t.Errorf("demo stderr does not report the teardown:\n%s", stderr.String())
	}
	assertTornDown(t, dir, st)
}

// copyFile copies src to dst with mode perm and returns dst.
func copyFile(t *testing.T, src, dst string, perm os.FileMode) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, perm); err != nil {
		t.Fatal(err)
	}
	return dst
}

// envWithout is this process's environment without the variable name.
func envWithout(name string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, name+"=") {
			env = append(env, kv)
		}
	}
	return env
}
