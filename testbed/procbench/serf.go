package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// serfImpl runs Serf agents (`serf agent -profile lan`), each joining the
// first, as a Serf user would start a farm.
type serfImpl struct {
	bin string
	// hosts gives the agents their addresses and, in netns mode, their
	// namespaces.
	hosts func(netns bool) (hostPlan, error)
}

// hostPlan places agent i: its address and the command prefix that runs a
// process there (empty on loopback, `ip netns exec NS` in a namespace).
type hostPlan interface {
	addr(i int) (string, error)
	wrap(i int, argv []string) []string
	close() error
}

func (serfImpl) name() string { return "serf" }

func (serfImpl) describe() string {
	return "Serf v0.10.2 `serf agent -profile lan` processes (the same memberlist underneath, Serf's own LAN timers), unencrypted, the first started alone and every other one started at once with `-retry-join` to it"
}

const (
	serfGossipPort = 7946
	serfRPCPort    = 7373
)

func (s serfImpl) start(ctx context.Context, n int, o startOpts) (farm, error) {
	hp, err := s.hosts(o.netns)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "serf-procbench-")
	if err != nil {
		hp.close()
		return nil, err
	}
	f := &serfFarm{bin: s.bin, hosts: hp, dir: dir}
	ok := false
	defer func() {
		if !ok {
			f.close()
		}
	}()
	// The seed first, answering, so the others have someone to join.
	seed, err := f.startAgent(0, "")
	if err != nil {
		return nil, err
	}
	if err := waitRPC(ctx, seed, 30*time.Second); err != nil {
		return nil, err
	}
	f.seedAddr = net.JoinHostPort(seed.ip, fmt.Sprint(serfGossipPort))
	for i := 1; i < n; i++ {
		if _, err := f.startAgent(i, f.seedAddr); err != nil {
			return nil, err
		}
	}
	ok = true
	return f, nil
}

type serfFarm struct {
	bin      string
	hosts    hostPlan
	dir      string
	seedAddr string

	mu    sync.Mutex
	procs []*serfProc
	next  int
}

type serfProc struct {
	name string
	ip   string
	cmd  *exec.Cmd
	done chan struct{}

	mu sync.Mutex
	rc *serfRPC
}

func (f *serfFarm) startAgent(i int, join string) (*serfProc, error) {
	ip, err := f.hosts.addr(i)
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("serf-%03d", i)
	argv := []string{f.bin, "agent", "-node", name,
		"-bind", net.JoinHostPort(ip, fmt.Sprint(serfGossipPort)),
		"-rpc-addr", net.JoinHostPort(ip, fmt.Sprint(serfRPCPort)),
		"-profile", "lan", "-log-level", "info"}
	if join != "" {
		argv = append(argv, "-retry-join", join, "-retry-interval", "1s")
	}
	argv = f.hosts.wrap(i, argv)
	logf, err := os.Create(filepath.Join(f.dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &serfProc{name: name, ip: ip, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	f.mu.Lock()
	f.procs = append(f.procs, p)
	f.next = max(f.next, i+1)
	f.mu.Unlock()
	return p, nil
}

// pid is the agent's process: in netns mode the exec'd serf, which `ip
// netns exec` replaces itself with.
func (p *serfProc) pid() int { return p.cmd.Process.Pid }

// view asks the agent for its members over one kept RPC connection,
// redialed after an error. Calls on one agent are serialized.
func (p *serfProc) view(ctx context.Context) (map[string]string, error) {
	select {
	case <-p.done:
		return nil, errors.New(p.name + " exited")
	default:
	}
	timeout := 2 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(d), time.Millisecond)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rc == nil {
		rc, err := dialSerfRPC(net.JoinHostPort(p.ip, fmt.Sprint(serfRPCPort)), timeout)
		if err != nil {
			return nil, err
		}
		p.rc = rc
	}
	ms, err := p.rc.members(timeout)
	if err != nil {
		p.rc.close()
		p.rc = nil
		return nil, err
	}
	v := make(map[string]string, len(ms))
	for _, m := range ms {
		st := m.Status
		if st == "failed" {
			st = statusDead
		}
		v[m.Name] = st
	}
	return v, nil
}

func waitRPC(ctx context.Context, p *serfProc, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if _, err := p.view(ctx); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("serf seed %s did not answer its RPC within %s: %w", p.name, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (f *serfFarm) agents() []agent {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []agent
	for _, p := range f.procs {
		select {
		case <-p.done:
			continue
		default:
		}
		out = append(out, agent{name: p.name, pid: p.pid(), view: p.view})
	}
	return out
}

func (f *serfFarm) launch(ctx context.Context) (agent, error) {
	f.mu.Lock()
	i := f.next
	f.mu.Unlock()
	p, err := f.startAgent(i, f.seedAddr)
	if err != nil {
		return agent{}, err
	}
	return agent{name: p.name, pid: p.pid(), view: p.view}, nil
}

func (f *serfFarm) kill(a agent) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.procs {
		if p.name == a.name {
			return p.cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	return fmt.Errorf("no serf agent %s", a.name)
}

func (f *serfFarm) setLoss(ctx context.Context, percent int) error {
	l, ok := f.hosts.(*labHosts)
	if !ok {
		return errors.New("loss needs the Serf agents in network namespaces")
	}
	return l.lab.SetLoss(ctx, percent)
}

func (f *serfFarm) logFiles() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.procs))
	for i, p := range f.procs {
		out[i] = filepath.Join(f.dir, p.name+".log")
	}
	return out
}

func (f *serfFarm) launched() int { return 0 }

func (f *serfFarm) close() error {
	f.mu.Lock()
	procs := f.procs
	f.procs = nil
	f.mu.Unlock()
	for _, p := range procs {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	for _, p := range procs {
		<-p.done
		p.mu.Lock()
		if p.rc != nil {
			p.rc.close()
		}
		p.mu.Unlock()
	}
	err := f.hosts.close()
	os.RemoveAll(f.dir)
	return err
}
