package localapitest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/farmhand/farmhand/agent/localapi"
)

// SocketDir returns a new empty directory with a path short enough for
// unix sockets (t.TempDir paths can exceed the 108-byte limit), removed
// when t ends.
func SocketDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "fh")
	if err != nil {
		t.Fatalf("creating a socket directory: %v", err)
	}
	t.Cleanup(func() {
		os.Chmod(dir, 0o755) // a test may have locked it
		os.RemoveAll(dir)
	})
	return dir
}

// Serve runs a localapi.Server for b on a socket in a fresh SocketDir and
// returns the socket path. The server stops when t ends; t fails if Run
// returns anything but nil.
func Serve(t testing.TB, b localapi.Backend) string {
	t.Helper()
	path := filepath.Join(SocketDir(t), "agent.sock")
	ServeAt(t, b, path)
	return path
}

// ServeAt is Serve on a socket path of the caller's choosing.
func ServeAt(t testing.TB, b localapi.Backend, path string) {
	t.Helper()
	ln, err := localapi.Listen(path, localapi.DefaultSocketMode, "")
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	cfg := localapi.DefaultConfig()
	cfg.Backend = b
	srv, err := localapi.New(cfg)
	if err != nil {
		ln.Close()
		t.Fatalf("creating the server: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("localapi.Server.Run returned %v after cancel, want nil", err)
		}
	})
}
