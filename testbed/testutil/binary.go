package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// built holds the binaries built by this test process, in one temporary
// directory, so farmhand-testbed finds the farmhand beside it as it does in
// bin/.
var built struct {
	mu    sync.Mutex
	dir   string
	paths map[string]string // by command name
	errs  map[string]error
}

// FarmhandBinary returns the path of a farmhand binary for tests that run
// real agent processes: $FARMHAND_BIN when it exists (the Makefile builds
// it), otherwise one built once per test process into a temp directory.
func FarmhandBinary(t testing.TB) string {
	t.Helper()
	return binary(t, "FARMHAND_BIN", "farmhand")
}

// TestbedBinary returns the path of a farmhand-testbed binary, for tests
// of the testbed CLI: $FARMHAND_TESTBED_BIN when it exists (the Makefile
// builds it), otherwise one built once per test process beside the
// farmhand binary it runs (FarmhandBinary's, which it finds there or
// through $FARMHAND_BIN).
func TestbedBinary(t testing.TB) string {
	t.Helper()
	FarmhandBinary(t) // first, so that a built one lands beside it
	return binary(t, "FARMHAND_TESTBED_BIN", "farmhand-testbed")
}

// binary is $env when that file exists, else cmd/<name> built once.
func binary(t testing.TB, env, name string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	built.mu.Lock()
	defer built.mu.Unlock()
	if built.paths == nil {
		built.paths, built.errs = map[string]string{}, map[string]error{}
	}
	if err, failed := built.errs[name]; failed {
		t.Fatalf("cannot build %s (set %s or run 'make build'): %v", name, env, err)
	}
	if p, ok := built.paths[name]; ok {
		return p
	}
	if built.dir == "" {
		dir, err := os.MkdirTemp("", "farmhand-bin-")
		if err != nil {
			t.Fatal(err)
		}
		built.dir = dir
	}
	path := filepath.Join(built.dir, name)
	cmd := exec.Command("go", "build", "-o", path, "github.com/farmhand/farmhand/cmd/"+name)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0") // as the Makefile builds it
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		built.errs[name] = err
		t.Fatalf("cannot build %s (set %s or run 'make build'): %v", name, env, err)
	}
	built.paths[name] = path
	return path
}

// CleanupBinary removes the binaries FarmhandBinary and TestbedBinary
// built; call it from TestMain after m.Run.
func CleanupBinary() {
	built.mu.Lock()
	defer built.mu.Unlock()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
}

// InCI reports whether the tests run in CI, where a missing tool or missing
// root is a failure, never a skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// NeedTool returns the path of tool, or skips t (fails it in CI) with a
// message saying how to install it.
func NeedTool(t testing.TB, tool, install string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err == nil {
		return p
	}
	if InCI() {
		t.Fatalf("%s is required in CI but missing: %s", tool, install)
	}
	t.Skipf("%s not installed (%s); skipping", tool, install)
	return ""
}

// NeedRoot skips t (fails it in CI) unless the process runs as root.
func NeedRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if InCI() {
		t.Fatalf("this test needs root (%s) and CI runs as root; run CI as root", why)
	}
	t.Skipf("not root: skipping (%s needs root)", why)
}
