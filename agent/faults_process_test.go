package agent

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// A SIGKILL at any step of the lifecycle leaves a stale socket file and a
// lock file behind; a restart with the same config and data dir clears the
// one, takes the other (the kernel dropped the flock) and rejoins, and the
// others see the node alive again.
func TestSIGKILLAtEachLifecycleStepThenRestartRejoins(t *testing.T) {
	t.Parallel()
	t.Run("bootstrapping", func(t *testing.T) {
		t.Parallel()
		f := newFarm(t)
		a := f.start(f.config(nodeName(0), "c1"))
		f.s3.SetDown(true)
		p := f.startProcess(nodeName(1), "c1")
		// Stuck before READY: S3 refuses it and there is no snapshot.
		testutil.Run(t, 20*time.Second, func(r *testutil.R) {
			st, err := p.client().Status(context.Background())
			if err != nil {
				r.Fatalf("%v", err)
			}
			if st.State != StateBootstrapping {
				t.Fatalf("agent is %s while S3 is down and it knows no peer, want bootstrapping", st.State)
			}
			if f.s3.CountsFrom(p.ip).Total() == 0 {
				r.Fatalf("agent has not tried S3 yet")
			}
		})
		kill9(t, p)
		f.s3.SetDown(false)
		q := f.restartProcess(p)
		waitProcessAlive(t, q, 2)
		waitSeenAs(t, a, p.name, membership.StatusAlive)
	})

	t.Run("right after READY", func(t *testing.T) {
		t.Parallel()
		f, a, p, msgs := readyProcessBesideAgent(t)
		kill9(t, p)
		waitSeenAs(t, a, p.name, membership.StatusDead)
		q := f.restartProcess(p)
		nextNotify(t, msgs, "READY=1", 30*time.Second)
		waitProcessAlive(t, q, 2)
		waitSeenAs(t, a, p.name, membership.StatusAlive)
	})

	t.Run("during the graceful leave", func(t *testing.T) {
		t.Parallel()
		f, a, p, msgs := readyProcessBesideAgent(t)
		waitAlive(t, 2, a)
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		nextNotify(t, msgs, "STOPPING=1", 10*time.Second)
		kill9(t, p)
		// Left if the leave message went out before the kill, dead if not.
		testutil.Run(t, 30*time.Second, func(r *testutil.R) {
			if s := statusOf(t, a, p.name); s != membership.StatusLeft && s != membership.StatusDead {
				r.Fatalf("the peer sees the killed leaver as %q, want left or dead", s)
			}
		})
		q := f.restartProcess(p)
		waitProcessAlive(t, q, 2)
		waitSeenAs(t, a, p.name, membership.StatusAlive)
	})
}

// kill9 SIGKILLs p, waits for it to exit, and checks that it left its
// socket file and data-dir lock behind, as a real crash does.
func kill9(t *testing.T, p *agentProcess) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		p.exited <- err
	case <-time.After(10 * time.Second):
		t.Fatalf("agent %s still running 10s after SIGKILL", p.name)
	}
	fi, err := os.Stat(p.socket)
	if err != nil || fi.Mode().Type() != fs.ModeSocket {
		t.Fatalf("after SIGKILL the socket file should be left behind (stale): %v", err)
	}
	pid, err := os.ReadFile(filepath.Join(p.dataDir, lockFile))
	if err != nil || strings.TrimSpace(string(pid)) != strconv.Itoa(p.cmd.Process.Pid) {
		t.Fatalf("after SIGKILL the lock file should hold the dead agent's pid %d: %q, %v", p.cmd.Process.Pid, pid, err)
	}
}

// waitSeenAs waits until a sees member name with status want.
func waitSeenAs(t *testing.T, a *testAgent, name string, want membership.Status) {
	t.Helper()
	testutil.Run(t, 30*time.Second, func(r *testutil.R) {
		if s := statusOf(t, a, name); s != want {
			r.Fatalf("%s sees %s as %q, want %q", a.cfg.Identity.InstanceID, name, s, want)
		}
	})
}

// A second agent started on a data dir in use refuses to start, says why
// and which process holds it, and leaves the first agent untouched.
func TestSecondAgentOnSameDataDirRefuses(t *testing.T) {
	t.Parallel()
	f := newFarm(t)
	first := f.startProcess(nodeName(0), "c1")
	waitProcessAlive(t, first, 1)

	// Its own name, address and socket: only the data dir is shared.
	second := f.startProcess(nodeName(1), "c1", "FARMHAND_DATA_DIR="+first.dataDir)
	var err error
	select {
	case err = <-second.exited:
		second.exited <- err
	case <-time.After(20 * time.Second):
		t.Fatal("the second agent on the same data dir is still running")
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("second agent exited with %v, want a non-zero exit status", err)
	}
	log, _ := os.ReadFile(second.log)
	want := "data_dir " + first.dataDir + " is in use by another farmhand agent (pid " + strconv.Itoa(first.cmd.Process.Pid) + ")"
	if !strings.Contains(string(log), want) {
		t.Fatalf("the second agent's log does not say %q:\n%s", want, log)
	}
	if _, err := os.Stat(second.socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused agent created its socket: %v", err)
	}
	if f.s3.CountsFrom(second.ip).Total() != 0 {
		t.Error("the refused agent made S3 requests")
	}
	// The first one is unharmed.
	waitProcessAlive(t, first, 1)
	if pid, _ := os.ReadFile(filepath.Join(first.dataDir, lockFile)); strings.TrimSpace(string(pid)) != strconv.Itoa(first.cmd.Process.Pid) {
		t.Errorf("the lock file now says %q, want the first agent's pid", pid)
	}
}

// A full disk under the data dir costs the peer snapshot, not the agent: it
// warns, keeps serving, and saves the snapshot once there is room again.
func TestFullDiskForSnapshotWarnsAndKeepsRunning(t *testing.T) {
	testutil.NeedRoot(t, "mounting a 64 KiB tmpfs as the data dir")
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		t.Fatalf("mount a tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	filler := fillDisk(t, dir)

	f := newFarm(t)
	a := f.start(f.config(nodeName(0), "c1"))
	p := f.startProcess(nodeName(1), "c1", "FARMHAND_DATA_DIR="+dir)
	waitProcessAlive(t, p, 2)
	testutil.Run(t, 20*time.Second, func(r *testutil.R) {
		log, _ := os.ReadFile(p.log)
		if !strings.Contains(string(log), "cannot save the peer snapshot") || !strings.Contains(string(log), "no space left on device") {
			r.Fatalf("no warning about the snapshot on a full disk yet")
		}
	})
	select {
	case err := <-p.exited:
		p.exited <- err
		t.Fatalf("agent exited on a full disk: %v", err)
	default:
	}
	waitProcessAlive(t, p, 2)
	if peers, err := readSnapshot(dir, "c1"); err != nil || len(peers) != 0 {
		t.Fatalf("a snapshot was saved on a full disk: %v, %v", peers, err)
	}

	// Room again: the next view change is saved.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	b := f.start(f.config(nodeName(2), "c1"))
	waitAlive(t, 3, a, b)
	testutil.Run(t, 20*time.Second, func(r *testutil.R) {
		peers, err := readSnapshot(dir, "c1")
		if err != nil || len(peers) != 2 {
			r.Fatalf("snapshot holds %d peers (%v), want 2", len(peers), err)
		}
	})
}

// fillDisk writes a file into dir until the file system is full and
// returns its path.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := fh.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling %s: %v", dir, err)
			}
			return path
		}
	}
}

// readyProcessBesideAgent starts an in-process agent and a real agent
// process that reports to a stand-in systemd, and waits for the process's
// READY=1.
func readyProcessBesideAgent(t *testing.T) (f *farm, a *testAgent, p *agentProcess, msgs <-chan string) {
	t.Helper()
	f = newFarm(t)
	a = f.start(f.config(nodeName(0), "c1"))
	sock, msgs := listenNotify(t)
	p = f.startProcess(nodeName(1), "c1", "NOTIFY_SOCKET="+sock)
	nextNotify(t, msgs, "READY=1", 30*time.Second)
	return f, a, p, msgs
}
