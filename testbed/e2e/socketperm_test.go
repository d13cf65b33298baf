package e2e

import (
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/farmhand/farmhand/testbed/testutil"
)

// socketGroup stands in for the packaged "farmhand" group: a group that
// exists on every Linux system and is neither root's nor nobody's.
const socketGroup = "daemon"

// The local API socket of a real agent (socket_mode 0660, socket_group)
// refuses a user outside root and the group, and the CLI says what to do;
// the same user in the group gets in. Root only: it drops to nobody.
func TestSocketRefusesUsersOutsideGroup(t *testing.T) {
	t.Parallel()
	skipShort(t)
	if os.Getuid() != 0 {
		cannotRun(t, "root, to run the CLI as user nobody against an agent's socket")
	}
	uid, gid := testutil.Nobody(t)
	grp, err := user.LookupGroup(socketGroup)
	if err != nil {
		cannotRun(t, "group "+socketGroup+" to own the socket: "+err.Error())
	}
	sockGID, _ := strconv.Atoi(grp.Gid)

	f := startFarm(t, farmOpts{nodes: 1, noCoordinator: true, extraHCL: `socket_group = "` + socketGroup + `"`})
	in := Running(f.tb)[0]
	st, err := os.Stat(in.Socket)
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	if st.Mode().Perm() != 0o660 || st.Mode().Type() != os.ModeSocket || sys.Uid != 0 || int(sys.Gid) != sockGID {
		t.Fatalf("socket %s is %v owned by %d:%d, want a socket with mode 0660 owned by 0:%d (root:%s)",
			in.Socket, st.Mode(), sys.Uid, sys.Gid, sockGID, socketGroup)
	}

	// nobody may walk to the socket and run a copy of the CLI; only the
	// socket's own permission stands in its way.
	if err := os.Chmod(f.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cli := filepath.Join(f.dir, "farmhand-cli")
	data, err := os.ReadFile(testutil.FarmhandBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cli, data, 0o755); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := runAs(t, cli, &syscall.Credential{Uid: uid, Gid: gid}, "members", "-socket", in.Socket)
	want := "permission denied on " + in.Socket + ": run as root or join group farmhand"
	if code != 1 || !strings.Contains(stderr, want) {
		t.Errorf("nobody, outside %s: exit %d, stderr %q; want exit 1 and %q", socketGroup, code, stderr, want)
	}
	if strings.Contains(stdout, in.ID) {
		t.Errorf("nobody, outside %s, got the member list: %q", socketGroup, stdout)
	}

	code, stdout, stderr = runAs(t, cli, &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{uint32(sockGID)}}, "members", "-socket", in.Socket)
	if code != 0 || !strings.Contains(stdout, in.ID) {
		t.Errorf("nobody in group %s: exit %d, stdout %q, stderr %q; want exit 0 and the member %s", socketGroup, code, stdout, stderr, in.ID)
	}
}

// runAs runs the CLI at path as cred and returns its exit code and output.
func runAs(t *testing.T, path string, cred *syscall.Credential, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	return testutil.RunCommand(t, cmd)
}

// cannotRun skips the test for lack of what it needs, or fails it in CI,
// where every test must run.
func cannotRun(t *testing.T, need string) {
	t.Helper()
	if testutil.InCI() {
		t.Fatalf("this test needs %s; CI runs every test, as root", need)
	}
	t.Skipf("skipped: this test needs %s", need)
}
