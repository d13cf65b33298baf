package localapi_test

import (
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/farmhand/farmhand/agent/localapi"
	"github.com/farmhand/farmhand/agent/localapi/localapitest"
)

func TestListenCreatesDirModeAndGroup(t *testing.T) {
	g, err := user.LookupGroupId(strconv.Itoa(os.Getgid()))
	if err != nil {
		t.Fatalf("looking up my own group: %v", err)
	}
	sock := filepath.Join(localapitest.SocketDir(t), "run", "farmhand", "f.sock")
	ln, err := localapi.Listen(sock, 0o660, g.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if ln.Addr().String() != sock {
		t.Errorf("Addr = %s, want %s", ln.Addr(), sock)
	}
	dir, err := os.Stat(filepath.Dir(sock))
	if err != nil || dir.Mode().Perm() != 0o755 {
		t.Errorf("socket dir: %v %v, want mode 0755", dir.Mode(), err)
	}
	fi, err := os.Lstat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, want a socket with 0660", fi.Mode())
	}
	if gid := fi.Sys().(*syscall.Stat_t).Gid; strconv.Itoa(int(gid)) != g.Gid {
		t.Errorf("socket gid %d, want %s (%s)", gid, g.Gid, g.Name)
	}
	if _, err := os.Lstat(sock + "~"); !os.IsNotExist(err) {
		t.Errorf("temporary socket name left behind: %v", err)
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatalf("dialing the socket: %v", err)
	}
	conn.Close()
	ln.Close()
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("socket file still there after Close: %v", err)
	}
}

func TestListenUnknownGroup(t *testing.T) {
	sock := filepath.Join(localapitest.SocketDir(t), "f.sock")
	_, err := localapi.Listen(sock, 0o660, "no-such-group-fh")
	if err == nil || !strings.Contains(err.Error(), `"no-such-group-fh"`) {
		t.Fatalf("Listen with an unknown group: %v, want an error naming the group", err)
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("socket created despite the error: %v", err)
	}
}

// staleSocket leaves a socket file at path that nobody listens on.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if _, err := net.Dial("unix", path); err == nil {
		t.Fatal("stale socket still answers")
	}
}

func TestListenRemovesStaleSocket(t *testing.T) {
	sock := filepath.Join(localapitest.SocketDir(t), "f.sock")
	staleSocket(t, sock)
	staleSocket(t, sock+"~") // a crash between listen and link
	ln, err := localapi.Listen(sock, 0o600, "")
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	defer ln.Close()
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatalf("dialing the new socket: %v", err)
	}
	conn.Close()
}

func TestListenRefusesLiveSocket(t *testing.T) {
	sock := filepath.Join(localapitest.SocketDir(t), "f.sock")
	first, err := localapi.Listen(sock, 0o600, "")
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	_, err = localapi.Listen(sock, 0o600, "")
	if err == nil || !strings.Contains(err.Error(), "another farmhand agent is already serving on "+sock) {
		t.Fatalf("second Listen: %v, want 'another farmhand agent is already serving on %s'", err, sock)
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatalf("the first agent's socket was harmed: %v", err)
	}
	conn.Close()
}

func TestListenRefusesNonSocket(t *testing.T) {
	sock := filepath.Join(localapitest.SocketDir(t), "f.sock")
	if err := os.WriteFile(sock, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := localapi.Listen(sock, 0o600, "")
	if err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("Listen over a regular file: %v, want 'not a socket'", err)
	}
	if b, err := os.ReadFile(sock); err != nil || string(b) != "precious" {
		t.Errorf("regular file changed: %q %v", b, err)
	}
}

func TestCloseLeavesAReplacedSocketAlone(t *testing.T) {
	sock := filepath.Join(localapitest.SocketDir(t), "f.sock")
	first, err := localapi.Listen(sock, 0o600, "")
	if err != nil {
		t.Fatal(err)
	}
	// Someone removes our socket and another agent takes the path.
	os.Remove(sock)
	second, err := localapi.Listen(sock, 0o600, "")
	if err != nil {
		first.Close()
		t.Fatal(err)
	}
	defer second.Close()
	first.Close()
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatalf("closing the old listener removed the new socket: %v", err)
	}
	conn.Close()
}

func TestListenEmptyPath(t *testing.T) {
	if _, err := localapi.Listen("", 0o600, ""); err == nil {
		t.Fatal("Listen(\"\") succeeded")
	}
}
