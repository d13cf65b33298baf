package agent

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/farmhand/farmhand/agent/client"
	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// agentProcess runs a real `farmhand agent` process for the tests that need
// signals, exit codes or systemd notifications.
type agentProcess struct {
	name    string
	ip      string // the identity's private IP: gossip and S3 requests leave from it
	dataDir string
	config  string // the HCL file
	env     []string
	cmd     *exec.Cmd
	socket  string
	log     string
	exited  chan error
	// restarted is set on a process started again by restartProcess, whose
	// log (shared with the first run) the first run's cleanup shows.
	restarted bool
}

// startProcess starts `farmhand agent` with the same settings f.config
// would give an in-process agent, written as an HCL file.
func (f *farm) startProcess(name, cluster string, env ...string) *agentProcess {
	f.t.Helper()
	return f.startProcessWith(name, cluster, "3s", env...)
}

// startProcessWith is startProcess with the given leave_timeout.
func (f *farm) startProcessWith(name, cluster, leaveTimeout string, env ...string) *agentProcess {
	t := f.t
	t.Helper()
	cfg := f.config(name, cluster)
	dir := t.TempDir()
	hcl := fmt.Sprintf(`
cluster       = %q
data_dir      = %q
socket        = %q
log_level     = "debug"
leave_timeout = %q
role          = "worker"
identity {
  instance_id       = %q
  private_ip        = %q
  availability_zone = "us-east-1a"
  region            = "us-east-1"
  instance_type     = "t3.micro"
  ami_id            = "ami-0123456789abcdef0"
}
gossip {
  profile  = "local"
  insecure = true
}
registry {
  bucket     = %q
  endpoint   = %q
  path_style = true
  region     = "us-east-1"
}
`, cluster, cfg.DataDir, cfg.Socket, leaveTimeout, name, cfg.Identity.PrivateIP, f.bucket, f.url)
	path := filepath.Join(dir, "agent.hcl")
	if err := os.WriteFile(path, []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &agentProcess{name: name, ip: cfg.Identity.PrivateIP, dataDir: cfg.DataDir, config: path, env: env,
		socket: cfg.Socket, log: filepath.Join(dir, "agent.log")}
	f.runProcess(p)
	return p
}

// restartProcess starts p's agent again with the same config, environment,
// data dir and socket, appending to the same log. p must have exited.
func (f *farm) restartProcess(p *agentProcess) *agentProcess {
	f.t.Helper()
	q := &agentProcess{name: p.name, ip: p.ip, dataDir: p.dataDir, config: p.config, env: p.env, socket: p.socket, log: p.log, restarted: true}
	f.runProcess(q)
	return q
}

// runProcess starts p and kills it when the test ends, showing its log if
// the test failed.
func (f *farm) runProcess(p *agentProcess) {
	t := f.t
	t.Helper()
	p.exited = make(chan error, 1)
	logf, err := os.OpenFile(p.log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(testutil.FarmhandBinary(t), "agent", "-config", p.config)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.Env = append([]string{
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "PATH=" + os.Getenv("PATH"),
	}, p.env...)
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait(); logf.Close() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		err := <-p.exited
		p.exited <- err
		if t.Failed() && !p.restarted {
			if b, err := os.ReadFile(p.log); err == nil {
				t.Logf("agent %s log:\n%s", p.name, b)
			}
		}
	})
}

func (p *agentProcess) client() *client.Client { return client.New(p.socket) }

// listenNotify is a stand-in for systemd: a unixgram socket that collects
// sd_notify datagrams.
func listenNotify(t *testing.T) (path string, msgs <-chan string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan string, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			for _, line := range strings.Split(string(buf[:n]), "\n") {
				if line != "" {
					ch <- line
				}
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return path, ch
}

// nextNotify returns the next datagram line that starts with prefix.
func nextNotify(t *testing.T, msgs <-chan string, prefix string, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				t.Fatalf("notify socket closed before %q", prefix)
			}
			if strings.HasPrefix(m, prefix) {
				return m
			}
		case <-deadline:
			t.Fatalf("no %q from the agent within %s", prefix, timeout)
		}
	}
}

func TestSystemdReadyAfterJoinAndStoppingOnSIGTERM(t *testing.T) {
	f := newFarm(t)
	first := f.start(f.config(nodeName(0), "c1"))

	sock, msgs := listenNotify(t)
	p := f.startProcess(nodeName(1), "c1", "NOTIFY_SOCKET="+sock)

	nextNotify(t, msgs, "READY=1", 30*time.Second)
	// READY=1 came only after the join: the agent already sees both members.
	ms, err := p.client().Members(context.Background(), client.Filter{Status: string(membership.StatusAlive)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 {
		t.Fatalf("at READY=1 the agent saw %d alive members, want 2 (ready before join?)", len(ms))
	}
	waitAlive(t, 2, first)

	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	nextNotify(t, msgs, "STOPPING=1", 10*time.Second)
	select {
	case err := <-p.exited:
		p.exited <- err
		if err != nil {
			t.Fatalf("agent exited with %v after SIGTERM, want exit 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("agent still running 10s after SIGTERM")
	}
	t.Logf("graceful stop took %s", time.Since(start))
	testutil.Run(t, 10*time.Second, func(r *testutil.R) {
		if s := statusOf(t, first, nodeName(1)); s != membership.StatusLeft {
			r.Fatalf("first sees the stopped agent as %q, want left", s)
		}
	})
}

func TestKill9IsSeenDead(t *testing.T) {
	f := newFarm(t)
	first := f.start(f.config(nodeName(0), "c1"))
	p := f.startProcess(nodeName(1), "c1")
	waitAlive(t, 2, first)

	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.exited
	p.exited <- nil
	testutil.Run(t, 30*time.Second, func(r *testutil.R) {
		if s := statusOf(t, first, nodeName(1)); s != membership.StatusDead {
			r.Fatalf("first sees the killed agent as %q, want dead", s)
		}
	})
}
