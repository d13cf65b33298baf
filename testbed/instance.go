package testbed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/testbed/ec2emu"
	"github.com/farmhand/farmhand/testbed/imdsemu"
)

// instance is one emulated machine: an IMDS endpoint with its identity and
// a farmhand agent process. Fields are guarded by the Testbed's mu.
type instance struct {
	tb       *Testbed
	id       string
	ip       string
	dir      string
	netns    string
	imds     *imdsemu.Server
	ec2State string

	cmd      *exec.Cmd
	pid      int
	agent    string        // running, exited, killed, paused, stopped
	exited   chan struct{} // closed when the current process exits
	stopping bool          // we asked it to stop: not a crash
}

// Agent process states as testbed.json reports them.
const (
	agentRunning = "running"
	agentExited  = "exited"
	agentKilled  = "killed"
	agentPaused  = "paused"
	agentStopped = "stopped"
	agentNone    = "none"
)

// Socket is the agent's local API socket.
func (in *instance) socket() string { return filepath.Join(in.dir, "farmhand.sock") }

func (in *instance) stateLocked() InstanceState {
	return InstanceState{
		ID:          in.id,
		IP:          in.ip,
		Socket:      in.socket(),
		PID:         in.pid,
		State:       in.ec2State,
		Agent:       in.agent,
		Netns:       in.netns,
		Log:         filepath.Join(in.dir, "agent.log"),
		Coordinator: in.tb.cfg.Coordinator,
	}
}

// onLaunch is the EC2 emulator's hook: the machine boots. It gets an IMDS
// with its identity, a namespace in netns mode, and its agent process.
func (tb *Testbed) onLaunch(ctx context.Context, ei ec2emu.Instance) error {
	tb.mu.Lock()
	if tb.closed {
		tb.mu.Unlock()
		return errors.New("testbed is shutting down")
	}
	in := tb.instances[ei.ID]
	if in == nil {
		in = &instance{tb: tb, id: ei.ID, ip: ei.PrivateIP, dir: filepath.Join(tb.cfg.Dir, "instances", ei.ID), agent: agentNone}
		tb.instances[ei.ID] = in
		tb.order = append(tb.order, ei.ID)
	}
	in.ec2State = "pending"
	idx := len(tb.order) - 1
	tb.mu.Unlock()

	if err := os.MkdirAll(filepath.Join(in.dir, "data"), 0o755); err != nil {
		return err
	}
	if in.imds == nil {
		srv, err := imdsemu.Start(net.JoinHostPort(tb.hostIP, "0"), bootstrap.Identity{
			InstanceID:       ei.ID,
			PrivateIP:        ei.PrivateIP,
			AvailabilityZone: ei.AvailabilityZone,
			Region:           Region,
			InstanceType:     ei.InstanceType,
			AMI:              ei.ImageID,
		})
		if err != nil {
			return fmt.Errorf("IMDS for %s: %w", ei.ID, err)
		}
		in.imds = srv
	}
	if tb.cfg.Netns && in.netns == "" {
		ns := tb.net.nsName(idx)
		if err := tb.net.addHost(ctx, ns, ei.PrivateIP); err != nil {
			return fmt.Errorf("namespace for %s: %w", ei.ID, err)
		}
		tb.mu.Lock()
		in.netns = ns
		tb.mu.Unlock()
	}
	if err := in.startProcess(); err != nil {
		return err
	}
	tb.mu.Lock()
	in.ec2State = "running"
	tb.saveStateLocked()
	tb.mu.Unlock()
	tb.logger.Info("instance running", "id", ei.ID, "ip", ei.PrivateIP, "pid", in.pid)
	return nil
}

// onStop is the EC2 emulator's hook for StopInstances: the OS shuts down,
// so systemd stops the agent gracefully.
func (tb *Testbed) onStop(ctx context.Context, ei ec2emu.Instance) error {
	return tb.endInstance(ei.ID, "stopped", stopGraceful)
}

// onTerminate is the hook for TerminateInstances.
func (tb *Testbed) onTerminate(ctx context.Context, ei ec2emu.Instance) error {
	return tb.endInstance(ei.ID, "terminated", stopGraceful)
}

func (tb *Testbed) endInstance(id, state string, how stopMode) error {
	tb.mu.Lock()
	in := tb.instances[id]
	tb.mu.Unlock()
	if in == nil {
		return nil
	}
	in.stopProcess(how)
	tb.mu.Lock()
	in.ec2State = state
	tb.saveStateLocked()
	tb.mu.Unlock()
	return nil
}

type stopMode int

const (
	stopGraceful stopMode = iota // SIGTERM, then SIGKILL after a grace period
	stopKill                     // SIGKILL at once (a crash)
)

// stopGrace is how long a graceful stop waits before SIGKILL; the agent's
// own leave_timeout is 5 s.
const stopGrace = 8 * time.Second

// startProcess starts the agent for this instance.
func (in *instance) startProcess() error {
	tb := in.tb
	logf, err := os.OpenFile(filepath.Join(in.dir, "agent.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	args := []string{"agent",
		"-config", tb.amiPath,
		"-socket", in.socket(),
		"-data-dir", filepath.Join(in.dir, "data"),
		"-imds-endpoint", in.imds.URL(),
	}
	var cmd *exec.Cmd
	if in.netns != "" {
		cmd = exec.Command("ip", append([]string{"netns", "exec", in.netns, tb.cfg.Bin}, args...)...)
	} else {
		cmd = exec.Command(tb.cfg.Bin, args...)
	}
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Env = agentEnv(tb.cfg.S3Endpoint != "")
	// Own process group: a Ctrl-C in the terminal reaches the testbed only,
	// which then stops the agents in order. Pdeathsig: if the testbed dies,
	// so do its machines.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start agent for %s: %w", in.id, err)
	}
	exited := make(chan struct{})
	tb.mu.Lock()
	in.cmd, in.pid, in.agent, in.exited, in.stopping = cmd, cmd.Process.Pid, agentRunning, exited, false
	tb.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logf.Close()
		tb.mu.Lock()
		if in.agent == agentRunning || in.agent == agentPaused {
			in.agent = agentExited
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				in.agent = agentKilled
			}
		}
		tb.saveStateLocked()
		tb.mu.Unlock()
		if err != nil && !in.stopping {
			tb.logger.Warn("agent process ended", "id", in.id, "error", err)
		}
		close(exited)
	}()
	return nil
}

// agentEnv is the environment of agent processes: static credentials for
// the emulators, and nothing that could reach a real AWS endpoint. With an
// external S3 the credentials are the user's (externalS3Env).
func agentEnv(externalS3 bool) []string {
	env := []string{
		"AWS_ACCESS_KEY_ID=" + accessKey,
		"AWS_SECRET_ACCESS_KEY=" + secretKey,
		"AWS_REGION=" + Region,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"PATH=" + os.Getenv("PATH"),
	}
	if externalS3 {
		creds, _ := externalS3Env(os.Getenv)
		env = append(env, creds...) // later entries win
	}
	return env
}

// stopProcess stops the agent and waits for it to exit.
func (in *instance) stopProcess(how stopMode) {
	tb := in.tb
	tb.mu.Lock()
	cmd, exited := in.cmd, in.exited
	if cmd == nil || in.agent == agentExited || in.agent == agentKilled || in.agent == agentStopped {
		tb.mu.Unlock()
		return
	}
	in.stopping = true
	paused := in.agent == agentPaused
	tb.mu.Unlock()

	if how == stopKill {
		_ = cmd.Process.Signal(syscall.SIGKILL)
	} else {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if paused {
			_ = cmd.Process.Signal(syscall.SIGCONT)
		}
		select {
		case <-exited:
		case <-time.After(stopGrace):
			tb.logger.Warn("agent did not stop in time; killing it", "id", in.id)
			_ = cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	<-exited
	tb.mu.Lock()
	if how == stopGraceful {
		in.agent = agentStopped
	} else {
		in.agent = agentKilled
	}
	tb.mu.Unlock()
}

func (in *instance) closeIMDS() {
	if in.imds != nil {
		in.imds.Close()
	}
}

// processAlive reports whether pid exists and is not a zombie (an orphan
// whose reaper does not reap, as in some containers, stays a zombie).
func processAlive(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !os.IsNotExist(err)
	}
	// The state follows the parenthesised command name: "pid (comm) S ...".
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z' && stat[i+2] != 'X'
	}
	return true
}
