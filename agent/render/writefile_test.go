package render

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// onlyFiles fails t unless dir holds exactly the named entries (so no
// temporary file was left behind).
func onlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	for _, e := range entries {
		if !want[e.Name()] {
			t.Errorf("unexpected file %s left in %s", e.Name(), dir)
		}
		delete(want, e.Name())
	}
	for n := range want {
		t.Errorf("file %s missing from %s", n, dir)
	}
}

var noOwner = fileOwner{uid: -1, gid: -1}

func TestWriteFileOnlyWhenChanged(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "workers")

	changed, err := writeFile(path, []byte("a\n"), 0o640, noOwner)
	if err != nil || !changed {
		t.Fatalf("first write: changed %v, err %v", changed, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}

	// Same content: no write, so the mtime stays where we put it.
	past := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(path, past, past); err != nil {
		t.Fatal(err)
	}
	changed, err = writeFile(path, []byte("a\n"), 0o640, noOwner)
	if err != nil || changed {
		t.Fatalf("same content: changed %v, err %v", changed, err)
	}
	if fi, _ := os.Stat(path); !fi.ModTime().Equal(past) {
		t.Errorf("mtime moved from %v to %v on unchanged content", past, fi.ModTime())
	}

	// New content replaces the file by rename: a reader holding the old
	// file still sees the old content, never a half-written one.
	old, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	changed, err = writeFile(path, []byte("a\nb\n"), 0o640, noOwner)
	if err != nil || !changed {
		t.Fatalf("new content: changed %v, err %v", changed, err)
	}
	if got, _ := os.ReadFile(path); string(got) != "a\nb\n" {
		t.Errorf("content %q", got)
	}
	buf := make([]byte, 16)
	n, _ := old.Read(buf)
	if string(buf[:n]) != "a\n" {
		t.Errorf("old file handle reads %q, want the old content (was the file rewritten in place?)", buf[:n])
	}
	onlyFiles(t, dir, "workers")
}

func TestWriteFileFixesModeInPlace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if _, err := writeFile(path, []byte("x"), 0o644, noOwner); err != nil {
		t.Fatal(err)
	}
	changed, err := writeFile(path, []byte("x"), 0o600, noOwner)
	if err != nil || changed {
		t.Fatalf("changed %v, err %v", changed, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestWriteFileOwner(t *testing.T) {
	dir := t.TempDir()
	// Our own uid and gid, by number, always work.
	own, err := lookupOwner(strconv.Itoa(os.Getuid()), strconv.Itoa(os.Getgid()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writeFile(filepath.Join(dir, "own"), []byte("x"), 0o644, own); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("chown to another user needs root, and CI=true")
		}
		t.Skip("chown to another user needs root; skipped")
	}
	other := fileOwner{uid: 65534, gid: 65534}
	path := filepath.Join(dir, "other")
	if _, err := writeFile(path, []byte("x"), 0o644, other); err != nil {
		t.Fatal(err)
	}
	st := statT(t, path)
	if st.Uid != 65534 || st.Gid != 65534 {
		t.Errorf("owner %d:%d, want 65534:65534", st.Uid, st.Gid)
	}
	// Unchanged content with another owner is fixed in place.
	if changed, err := writeFile(path, []byte("x"), 0o644, fileOwner{uid: 0, gid: 0}); err != nil || changed {
		t.Fatalf("changed %v, err %v", changed, err)
	}
	if st := statT(t, path); st.Uid != 0 || st.Gid != 0 {
		t.Errorf("owner %d:%d after fix, want 0:0", st.Uid, st.Gid)
	}
	onlyFiles(t, dir, "own", "other")
}

func statT(t *testing.T, path string) *syscall.Stat_t {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t)
}

func TestWriteFileFailureLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "workers")
	if _, err := writeFile(path, []byte("old"), 0o644, noOwner); err != nil {
		t.Fatal(err)
	}
	rename = func(string, string) error { return syscall.EXDEV }
	defer func() { rename = os.Rename }()
	changed, err := writeFile(path, []byte("new"), 0o644, noOwner)
	if err == nil || changed {
		t.Fatalf("changed %v, err %v; want the rename error", changed, err)
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Errorf("content %q after a failed write, want the old one", got)
	}
	onlyFiles(t, dir, "workers")
}

func TestWriteFileIntoDirectoryFails(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "taken")
	if err := os.MkdirAll(filepath.Join(path, "child"), 0o755); err != nil {
		t.Fatal(err)
	}
	if changed, err := writeFile(path, []byte("x"), 0o644, noOwner); err == nil || changed {
		t.Fatalf("changed %v, err %v; want an error", changed, err)
	}
	onlyFiles(t, dir, "taken")
}
