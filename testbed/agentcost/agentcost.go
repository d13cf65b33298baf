// Package agentcost measures what one real farmhand agent process costs in
// a large cluster: its RSS and CPU time while it holds a full view of N
// members that are hosted cheaply (slow timers) in this process.
package agentcost

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/go-hclog"

	"github.com/farmhand/farmhand/agent/client"
	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/bootstrap/awscall"
	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed/s3emu"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// Config says what to measure.
type Config struct {
	// Members is how many members the host process runs (the agent makes
	// one more).
	Members int
	// Bin is the farmhand binary.
	Bin string
	// Dir holds the agent's config, socket, data dir and log.
	Dir string
	// Settle is how long to wait after the agent has the full view before
	// measuring, so its join burst is over.
	Settle time.Duration
	// Window is how long CPU time is measured over.
	Window time.Duration
	// Logger receives progress.
	Logger hclog.Logger
}

// Result is what one measurement found.
type Result struct {
	// Members is the size of the agent's view (hosted members + itself).
	Members int
	// FullView is how long after the agent started it saw every member
	// alive.
	FullView time.Duration
	// RSSKB, AnonKB, FileKB and PSSKB are the agent's resident memory in
	// KiB: total, anonymous (heap, stacks), file-backed (binary pages,
	// shared with other processes of the same binary) and proportional.
	RSSKB, AnonKB, FileKB, PSSKB int
	// CPUPerSecond is the agent's CPU time (user + system) per second of
	// wall time over the window.
	CPUPerSecond time.Duration
	// HostMemberCPU is the host process's CPU per hosted member per second
	// over the same window, to show how cheap the hosts' slow timers are.
	HostMemberCPU time.Duration
}

const cluster = "agentcost"

// Measure hosts cfg.Members members, starts one agent process that joins
// them through the S3 registry, waits for its full view and measures it.
func Measure(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	log := cfg.Logger
	s3srv, err := s3emu.Start("127.0.0.1:0", s3emu.Config{Bucket: "bench"})
	if err != nil {
		return Result{}, err
	}
	defer s3srv.Close()

	log.Info("hosting members", "n", cfg.Members)
	hosts, err := hostMembers(ctx, cfg.Members, log)
	defer shutdownAll(hosts)
	if err != nil {
		return Result{}, err
	}
	if err := register(ctx, s3srv.URL(), hosts[0]); err != nil {
		return Result{}, err
	}

	agentIP := "127.61.0.1"
	p, err := startAgent(cfg, s3srv.URL(), agentIP)
	if err != nil {
		return Result{}, err
	}
	defer p.stop()
	start := time.Now()
	want := cfg.Members + 1
	if err := waitView(ctx, p.socket, want, 5*time.Minute); err != nil {
		return Result{}, fmt.Errorf("agent never saw %d alive: %w (log %s)", want, err, p.log)
	}
	res := Result{Members: want, FullView: time.Since(start)}
	log.Info("agent has the full view", "members", want, "after", res.FullView)

	// Both waits are measuring windows, not waits for a condition.
	if err := pauseFor(ctx, cfg.Settle); err != nil {
		return res, err
	}
	agentCPU0, hostCPU0, err := cpuTimes(p.cmd.Process.Pid)
	if err != nil {
		return res, err
	}
	t0 := time.Now()
	if err := pauseFor(ctx, cfg.Window); err != nil {
		return res, err
	}
	agentCPU1, hostCPU1, err := cpuTimes(p.cmd.Process.Pid)
	if err != nil {
		return res, err
	}
	wall := time.Since(t0)
	res.CPUPerSecond = time.Duration(float64(agentCPU1-agentCPU0) / wall.Seconds())
	res.HostMemberCPU = time.Duration(float64(hostCPU1-hostCPU0) / wall.Seconds() / float64(cfg.Members))
	if err := memory(p.cmd.Process.Pid, &res); err != nil {
		return res, err
	}
	// Still a full view at the end: the figures are for a healthy agent.
	if err := waitView(ctx, p.socket, want, 30*time.Second); err != nil {
		return res, fmt.Errorf("the agent lost members during the measurement: %w", err)
	}
	return res, nil
}

// hostMembers runs n members with slow timers on 127.60.x.y: they answer
// probes and gossip rarely, so one process can host a thousand of them.
func hostMembers(ctx context.Context, n int, log hclog.Logger) ([]*membership.Cluster, error) {
	var hosts []*membership.Cluster
	for i := 0; i < n; i++ {
		c := membership.DefaultLANConfig()
		c.Name = fmt.Sprintf("i-host%011d", i)
		c.BindAddr = fmt.Sprintf("127.60.%d.%d", i/250, i%250+1)
		c.Cluster = cluster
		c.Tags = map[string]string{"role": "worker", "az": "us-east-1a"}
		ml := c.Memberlist
		ml.ProbeInterval = 20 * time.Second
		ml.ProbeTimeout = 5 * time.Second
		ml.GossipInterval = 2 * time.Second
		ml.GossipNodes = 1
		ml.PushPullInterval = 10 * time.Minute
		ml.SuspicionMult = 10
		c.ReconnectInterval = 0
		c.IsolationCheckInterval = 0
		c.Logger = hclog.NewNullLogger()
		h, err := membership.Create(c)
		if err != nil {
			return hosts, fmt.Errorf("host member %d: %w", i, err)
		}
		hosts = append(hosts, h)
		if i > 0 {
			seed := net.JoinHostPort(hosts[0].LocalMember().Addr, "7946")
			jctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_, err := h.Join(jctx, []string{seed})
			cancel()
			if err != nil {
				return hosts, fmt.Errorf("host member %d join: %w", i, err)
			}
		}
		if (i+1)%100 == 0 {
			log.Info("hosted", "members", i+1)
		}
	}
	// Wait until the first host sees them all, so the agent's one join
	// returns the whole cluster.
	err := testutil.Poll(3*time.Minute, 200*time.Millisecond, func(r *testutil.R) {
		if got := hosts[0].NumAlive(); got < n {
			r.Errorf("hosted members did not converge: %d of %d", got, n)
		}
	})
	return hosts, err
}

func shutdownAll(hosts []*membership.Cluster) {
	var wg sync.WaitGroup
	for _, h := range hosts {
		wg.Add(1)
		go func() { defer wg.Done(); h.Shutdown() }()
	}
	wg.Wait()
}

// register writes the first host's record, as that member's agent would.
func register(ctx context.Context, endpoint string, h *membership.Cluster) error {
	api := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("bench", "bench", ""), HTTPClient: awscall.NewHTTPClient("")})
	rc := bootstrap.DefaultRegistryConfig()
	rc.Bucket, rc.Cluster = "bench", cluster
	reg, err := bootstrap.NewRegistry(api, rc)
	if err != nil {
		return err
	}
	m := h.LocalMember()
	return reg.Register(ctx, bootstrap.Record{Version: bootstrap.RecordVersion, Cluster: cluster, Name: m.Name, Addr: m.Addr,
		Port: m.Port, AZ: "us-east-1a", Tags: m.Tags, StartedAt: time.Now().UTC()})
}

type agentProc struct {
	cmd    *exec.Cmd
	socket string
	log    string
	done   chan struct{}
}

func startAgent(cfg Config, s3URL, ip string) (*agentProc, error) {
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	p := &agentProc{socket: filepath.Join(cfg.Dir, "farmhand.sock"), log: filepath.Join(cfg.Dir, "agent.log"), done: make(chan struct{})}
	hcl := fmt.Sprintf(`cluster = %q
data_dir = %q
socket = %q
log_level = "warn"
role = "worker"
identity {
  instance_id = "i-0agentcost00001"
  private_ip = %q
  availability_zone = "us-east-1a"
  region = "us-east-1"
  instance_type = "m7g.large"
  ami_id = "ami-0123456789abcdef0"
}
gossip {
  profile = "lan"
  insecure = true
}
registry {
  bucket = "bench"
  endpoint = %q
  path_style = true
  region = "us-east-1"
}
`, cluster, filepath.Join(cfg.Dir, "data"), p.socket, ip, s3URL)
	path := filepath.Join(cfg.Dir, "agent.hcl")
	if err := os.WriteFile(path, []byte(hcl), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.Create(p.log)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(cfg.Bin, "agent", "-config", path)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.Env = []string{"AWS_ACCESS_KEY_ID=bench", "AWS_SECRET_ACCESS_KEY=bench", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"}
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	go func() { p.cmd.Wait(); logf.Close(); close(p.done) }()
	return p, nil
}

func (p *agentProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// waitView polls the agent until it sees want members alive.
func waitView(ctx context.Context, socket string, want int, timeout time.Duration) error {
	return testutil.Poll(timeout, 250*time.Millisecond, func(r *testutil.R) {
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		st, err := client.New(socket).Status(qctx)
		switch {
		case err != nil:
			r.Errorf("agent not answering: %v", err)
		case st.Counts["alive"] != want:
			r.Errorf("%d of %d alive", st.Counts["alive"], want)
		}
	})
}

// cpuTime is a process's user + system CPU time from /proc/PID/stat.
// pauseFor waits d, or until ctx ends.
func pauseFor(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// cpuTimes returns the CPU time of the agent process pid and of this one
// (the hosted members).
func cpuTimes(pid int) (agent, host time.Duration, err error) {
	if agent, err = cpuTime(pid); err != nil {
		return 0, 0, err
	}
	host, err = cpuTime(os.Getpid())
	return agent, host, err
}

func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("unexpected /proc/PID/stat format")
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 13 {
		return 0, errors.New("short /proc/PID/stat")
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const hz = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / hz, nil
}

// memory fills the RSS figures from /proc/PID/status and smaps_rollup.
func memory(pid int, r *Result) error {
	read := func(path string, keys map[string]*int) error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) >= 2 {
				if p, ok := keys[strings.TrimSuffix(fs[0], ":")]; ok {
					*p, _ = strconv.Atoi(fs[1])
				}
			}
		}
		return sc.Err()
	}
	if err := read(fmt.Sprintf("/proc/%d/status", pid), map[string]*int{"VmRSS": &r.RSSKB, "RssAnon": &r.AnonKB, "RssFile": &r.FileKB}); err != nil {
		return err
	}
	return read(fmt.Sprintf("/proc/%d/smaps_rollup", pid), map[string]*int{"Pss": &r.PSSKB})
}
