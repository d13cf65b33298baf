package render

import (
	"context"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// execWaitDelay bounds how long ShellExec waits for the output pipes after
// the command was killed (a daemon it started may hold them open).
const execWaitDelay = 2 * time.Second

// ShellExec is the default RunnerConfig.Exec: it runs command with
// "/bin/sh -c" in its own process group and returns its combined stdout and
// stderr. When ctx ends (the reload timeout), the whole group is killed.
func ShellExec(ctx context.Context, command string) ([]byte, error) {
	return ShellCommand(ctx, command).CombinedOutput()
}

// ShellExecEnv is ShellExec with env (KEY=value) added to the agent's
// environment; the drain watcher runs on_drain with it.
func ShellExecEnv(ctx context.Context, command string, env []string) ([]byte, error) {
	cmd := ShellCommand(ctx, command)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	return cmd.CombinedOutput()
}

// ShellCommand returns command to run with "/bin/sh -c" in its own process
// group, the whole group killed when ctx ends; the caller may set its
// environment, input and outputs before running it. Event handlers use it.
func ShellCommand(ctx context.Context, command string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// Negative pid: the process group that Setpgid created.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = execWaitDelay
	return cmd
}
