package testutil

import (
	"bytes"
	"errors"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"testing"
)

// RunCommand runs cmd and returns its exit code and output. It fails t
// only when the command could not run at all.
func RunCommand(t testing.TB, cmd *exec.Cmd) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("running %s: %v", strings.Join(cmd.Args, " "), err)
	}
	return code, out.String(), errb.String()
}

// Nobody returns the uid and gid of user nobody, for tests that drop
// root's privileges; it skips t (fails it in CI) when there is none.
func Nobody(t testing.TB) (uid, gid uint32) {
	t.Helper()
	u, err := user.Lookup("nobody")
	if err != nil {
		if InCI() {
			t.Fatalf("dropping privileges needs user nobody: %v", err)
		}
		t.Skipf("no user nobody to drop privileges to: %v", err)
	}
	id, _ := strconv.Atoi(u.Uid)
	g, _ := strconv.Atoi(u.Gid)
	return uint32(id), uint32(g)
}
