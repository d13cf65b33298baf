package localapi

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// staleDialTimeout bounds the probe of an existing socket file.
const staleDialTimeout = time.Second

// Listen listens on the unix socket path with the given mode and, if group
// is not empty, that group (a name or a numeric gid). It creates the parent
// directory (0755) if missing. An existing socket that nobody answers on is
// removed; a live one, or any file that is not a socket, is an error and is
// left alone.
//
// The socket is created under a temporary name, given its mode and group,
// then linked into place, so it is never reachable with the wrong
// permissions. Closing the listener removes the socket file.
func Listen(path string, mode os.FileMode, group string) (net.Listener, error) {
	if path == "" {
		return nil, errors.New("localapi: socket path is empty: set the socket path")
	}
	gid := -1
	if group != "" {
		var err error
		if gid, err = lookupGroup(group); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("localapi: creating the socket directory: %w", err)
	}
	if err := clearStale(path); err != nil {
		return nil, err
	}
	tmp := path + "~"
	if err := clearStale(tmp); err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("localapi: listening on %s: %w", tmp, err)
	}
	ln.SetUnlinkOnClose(false)
	fail := func(err error) (net.Listener, error) {
		ln.Close()
		os.Remove(tmp)
		return nil, err
	}
	if err := os.Chmod(tmp, mode.Perm()); err != nil {
		return fail(fmt.Errorf("localapi: setting mode %#o on socket %s: %w", mode.Perm(), tmp, err))
	}
	if gid >= 0 {
		if err := os.Chown(tmp, -1, gid); err != nil {
			return fail(fmt.Errorf("localapi: giving socket %s to group %s: %w (the agent must run as root or be a member of the group)", tmp, group, err))
		}
	}
	// Link, unlike rename, never replaces a socket another agent created since clearStale.
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fail(fmt.Errorf("localapi: %s appeared while starting: another farmhand agent is probably starting on it", path))
		}
		return fail(fmt.Errorf("localapi: placing socket at %s: %w", path, err))
	}
	os.Remove(tmp)
	fi, err := os.Lstat(path)
	if err != nil {
		return fail(fmt.Errorf("localapi: checking socket %s: %w", path, err))
	}
	return &socketListener{UnixListener: ln, path: path, info: fi}, nil
}

// lookupGroup resolves a group name or numeric gid.
func lookupGroup(group string) (int, error) {
	if g, err := user.LookupGroup(group); err == nil {
		return strconv.Atoi(g.Gid)
	}
	if n, err := strconv.Atoi(group); err == nil && n >= 0 {
		return n, nil
	}
	return -1, fmt.Errorf("localapi: socket group %q does not exist: create it (groupadd %s) or configure another socket group", group, group)
}

// clearStale makes path free to listen on: absent is fine, a socket nobody
// answers on is removed, anything else is an error.
func clearStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("localapi: checking socket path %s: %w", path, err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("localapi: %s exists and is not a socket (%s); refusing to replace it: remove it or choose another socket path", path, fi.Mode().Type())
	}
	conn, err := net.DialTimeout("unix", path, staleDialTimeout)
	if err == nil {
		conn.Close()
		return fmt.Errorf("localapi: another farmhand agent is already serving on %s: stop it first", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("localapi: cannot tell whether the socket %s is in use: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("localapi: removing stale socket %s: %w", path, err)
	}
	return nil
}

// socketListener is a unix listener whose Close removes its socket file,
// unless another process has replaced it meanwhile.
type socketListener struct {
	*net.UnixListener
	path string
	info os.FileInfo

	once sync.Once
	err  error
}

// Addr reports the socket's final path, not its temporary name.
func (l *socketListener) Addr() net.Addr { return &net.UnixAddr{Name: l.path, Net: "unix"} }

// Close stops listening and removes the socket file.
func (l *socketListener) Close() error {
	l.once.Do(func() {
		l.err = l.UnixListener.Close()
		if fi, err := os.Lstat(l.path); err == nil && os.SameFile(fi, l.info) {
			os.Remove(l.path)
		}
	})
	return l.err
}
