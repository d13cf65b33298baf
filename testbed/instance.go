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
	subnet   string
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

func (in *instance) stateLocked(ei ec2emu.Instance) InstanceState {
	return InstanceState{
		Spot:        ei.InstanceLifecycle == "spot",
		ASG:         ei.Tags[ec2emu.TagAutoScalingGroup],
		Notices:     notices(ei),
		ID:          in.id,
		IP:          in.ip,
		Subnet:      in.subnet,
		Socket:      in.socket(),
		PID:         in.pid,
		State:       in.ec2State,
		Agent:       in.agent,
		Netns:       in.netns,
		IMDS:        in.imdsURL(),
		Log:         filepath.Join(in.dir, "agent.log"),
		Coordinator: in.tb.cfg.Coordinator,
		Page:        in.pageURL(),
	}
}

// PagePort is the port of the farm page (and metrics) of the instance
// that serves it (Config.UI), on the instance's own 127.x address.
const PagePort = 9946

// pageURL is the farm page's URL if this instance serves it: with
// Config.UI, the first instance launched, in loopback mode (metrics_addr,
// and so the page, must be loopback: a namespace's is not the host's).
// Called with tb.mu held.
func (in *instance) pageURL() string {
	tb := in.tb
	if !tb.cfg.UI || tb.cfg.Netns || len(tb.order) == 0 || tb.order[0] != in.id {
		return ""
	}
	return "http://" + net.JoinHostPort(in.ip, strconv.Itoa(PagePort)) + "/"
}

// notices describes what IMDS announces to the instance.
func notices(ei ec2emu.Instance) []string {
	var out []string
	if ei.SpotAction != "" {
		out = append(out, fmt.Sprintf("spot interruption: %s at %s", ei.SpotAction, ei.SpotActionTime.UTC().Format(time.RFC3339)))
	}
	if !ei.RebalanceTime.IsZero() {
		out = append(out, "rebalance recommended at "+ei.RebalanceTime.UTC().Format(time.RFC3339))
	}
	if ei.TargetLifecycleState == ec2emu.LifecycleTerminated {
		out = append(out, "auto scaling: target lifecycle state Terminated")
	}
	return out
}

// onLaunch is the EC2 emulator's hook: the machine boots. It gets an IMDS
// with its identity, a namespace in netns mode, and its agent process. A
// stopped machine that starts again keeps all three: its IMDS, its
// namespace and address, and its data directory.
func (tb *Testbed) onLaunch(ctx context.Context, ei ec2emu.Instance) error {
	tb.mu.Lock()
	if tb.closed {
		tb.mu.Unlock()
		return errors.New("testbed is shutting down")
	}
	in := tb.instances[ei.ID]
	if in == nil {
		in = &instance{tb: tb, id: ei.ID, ip: ei.PrivateIP, subnet: ei.SubnetID, dir: filepath.Join(tb.cfg.Dir, "instances", ei.ID), agent: agentNone}
		tb.instances[ei.ID] = in
		tb.order = append(tb.order, ei.ID)
	}
	in.ec2State = "pending"
	idx := len(tb.order) - 1
	tb.mu.Unlock()

	if err := os.MkdirAll(filepath.Join(in.dir, "data"), 0o755); err != nil {
		return err
	}
	tb.mu.Lock()
	haveIMDS := in.imds != nil
	tb.mu.Unlock()
	if !haveIMDS {
		srv, err := tb.startIMDS(ei)
		if err != nil {
			return fmt.Errorf("IMDS for %s: %w", ei.ID, err)
		}
		tb.mu.Lock()
		in.imds = srv
		tb.mu.Unlock()
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

// startIMDS serves the instance's metadata: its identity, and its market
// and notices as the EC2 emulator has them at each request.
func (tb *Testbed) startIMDS(ei ec2emu.Instance) (*imdsemu.Server, error) {
	cfg := imdsemu.DefaultConfig()
	cfg.Identity = bootstrap.Identity{
		InstanceID:       ei.ID,
		PrivateIP:        ei.PrivateIP,
		AvailabilityZone: ei.AvailabilityZone,
		Region:           Region,
		InstanceType:     ei.InstanceType,
		AMI:              ei.ImageID,
	}
	cfg.Logger = tb.logger.Named("imds")
	cfg.Events = func() imdsemu.Events {
		in, ok := tb.ec2.Instance(ei.ID)
		if !ok {
			return imdsemu.Events{}
		}
		return imdsEvents(in)
	}
	srv, err := imdsemu.New(cfg)
	if err != nil {
		return nil, err
	}
	if err := srv.Listen(net.JoinHostPort(tb.hostIP, "0")); err != nil {
		return nil, err
	}
	return srv, nil
}

// imdsEvents is what IMDS says of an instance the EC2 emulator holds.
func imdsEvents(in ec2emu.Instance) imdsemu.Events {
	return imdsemu.Events{
		Spot:           in.InstanceLifecycle == "spot",
		SpotAction:     in.SpotAction,
		SpotActionTime: in.SpotActionTime,
		RebalanceTime:  in.RebalanceTime,
		PendingTime:    in.LaunchTime,

		TargetLifecycleState: in.TargetLifecycleState,
	}
}

// onReboot is the hook for RebootInstances: the OS restarts, so systemd
// stops the agent gracefully and starts it again; EC2 says running
// throughout.
func (tb *Testbed) onReboot(ctx context.Context, ei ec2emu.Instance) error {
	tb.mu.Lock()
	in := tb.instances[ei.ID]
	tb.mu.Unlock()
	if in == nil {
		return fmt.Errorf("reboot: the testbed has no machine for %s", ei.ID)
	}
	in.stopProcess(stopGraceful)
	if err := in.startProcess(); err != nil {
		return err
	}
	tb.logger.Info("instance rebooted", "id", ei.ID, "pid", in.pid)
	return tb.saveState()
}

// onTerminate is the hook for TerminateInstances: the OS shuts down for
// good. The machine's namespace and IMDS go with it, so that its address,
// which EC2 takes back, can serve another instance.
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
	var err error
	if state == "terminated" {
		err = in.dismantle()
	}
	tb.mu.Lock()
	in.ec2State = state
	tb.saveStateLocked()
	tb.mu.Unlock()
	return err
}

// dismantle removes what a terminated machine leaves: its namespace (in
// netns mode, where it holds the address on the bridge) and its IMDS.
func (in *instance) dismantle() error {
	tb := in.tb
	in.closeIMDS()
	tb.mu.Lock()
	ns := in.netns
	in.netns = ""
	tb.mu.Unlock()
	if ns == "" {
		return nil
	}
	if err := delHost(context.Background(), ns); err != nil {
		return fmt.Errorf("instance %s terminated, but its namespace stays: %w", in.id, err)
	}
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
	}
	if tb.cfg.InstanceHCL != nil {
		path := filepath.Join(in.dir, "instance.hcl")
		if err := os.WriteFile(path, []byte(tb.cfg.InstanceHCL(in.id, in.dir)), 0o644); err != nil {
			logf.Close()
			return fmt.Errorf("instance config for %s: %w", in.id, err)
		}
		args = append(args, "-config", path)
	}
	args = append(args,
		"-socket", in.socket(),
		"-data-dir", filepath.Join(in.dir, "data"),
		"-imds-endpoint", in.imds.URL(),
	)
	tb.mu.Lock()
	page := in.pageURL()
	tb.mu.Unlock()
	if page != "" {
		args = append(args, "-metrics-addr", net.JoinHostPort(in.ip, strconv.Itoa(PagePort)), "-ui")
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

// imdsURL is the IMDS endpoint while the machine has one.
func (in *instance) imdsURL() string {
	if in.imds == nil || in.imds.Closed() {
		return ""
	}
	return in.imds.URL()
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
