package testbed

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Clean removes what a killed testbed left in dir: agent processes,
// namespaces, the bridge, sockets and the state file. It refuses while the
// testbed process itself is still alive.
func Clean(ctx context.Context, dir string) ([]string, error) {
	st, err := ReadState(dir)
	if err != nil {
		return nil, err
	}
	if processAlive(st.PID) && st.PID != os.Getpid() {
		return nil, errors.New("the testbed process is still running (pid " + strconv.Itoa(st.PID) + "); stop it with Ctrl-C or kill it first")
	}
	var done []string
	for _, in := range st.Instances {
		if in.PID > 0 && processAlive(in.PID) && isFarmhand(in.PID) {
			_ = syscall.Kill(in.PID, syscall.SIGKILL)
			done = append(done, "killed agent "+in.ID+" (pid "+strconv.Itoa(in.PID)+")")
		}
		if in.Netns != "" {
			if err := delHost(ctx, in.Netns); err == nil {
				done = append(done, "deleted namespace "+in.Netns)
			}
		}
		if err := os.Remove(in.Socket); err == nil {
			done = append(done, "removed "+in.Socket)
		}
	}
	if st.Bridge != "" {
		if err := delBridge(ctx, st.Bridge); err == nil {
			done = append(done, "deleted bridge "+st.Bridge)
		}
	}
	for _, f := range []string{st.Control, filepath.Join(dir, StateFile)} {
		if err := os.Remove(f); err == nil {
			done = append(done, "removed "+f)
		}
	}
	return done, nil
}

// isFarmhand guards against killing a recycled pid.
func isFarmhand(pid int) bool {
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return err == nil && strings.Contains(string(cmdline), "agent")
}
