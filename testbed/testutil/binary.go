package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var bin struct {
	once sync.Once
	path string
	err  error
	dir  string
}

// FarmhandBinary returns the path of a farmhand binary for tests that run
// real agent processes: $FARMHAND_BIN when it exists (the Makefile builds
// it), otherwise one built once per test process into a temp directory.
func FarmhandBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("FARMHAND_BIN"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	bin.once.Do(func() {
		dir, err := os.MkdirTemp("", "farmhand-bin-")
		if err != nil {
			bin.err = err
			return
		}
		bin.dir = dir
		bin.path = filepath.Join(dir, "farmhand")
		cmd := exec.Command("go", "build", "-o", bin.path, "github.com/farmhand/farmhand/cmd/farmhand")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0") // as the Makefile builds it
		cmd.Stderr = os.Stderr
		bin.err = cmd.Run()
	})
	if bin.err != nil {
		t.Fatalf("cannot build the farmhand binary (set FARMHAND_BIN or run 'make build'): %v", bin.err)
	}
	return bin.path
}

// CleanupBinary removes a binary FarmhandBinary built; call it from TestMain
// after m.Run.
func CleanupBinary() {
	if bin.dir != "" {
		os.RemoveAll(bin.dir)
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
