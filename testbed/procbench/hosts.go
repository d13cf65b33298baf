package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/farmhand/farmhand/testbed"
)

// loopbackHosts places Serf agent i on 127.19.K.(i+2): a /24 of loopback
// addresses no testbed uses (testbeds take 127.18.K.x, tests 127.100-199),
// K held by a lock file so two benchmark runs never share it.
type loopbackHosts struct {
	k    int
	lock *os.File
}

func newLoopbackHosts() (*loopbackHosts, error) {
	dir := "/run/lock"
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		dir = os.TempDir()
	}
	for k := 1; k <= 250; k++ {
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("farmhand-procbench-%d.lock", k)), os.O_CREATE|os.O_RDONLY, 0o644)
		if err != nil {
			return nil, err
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			return &loopbackHosts{k: k, lock: f}, nil
		}
		f.Close()
	}
	return nil, fmt.Errorf("all 250 procbench address blocks are held (lock files in %s)", dir)
}

func (h *loopbackHosts) addr(i int) (string, error) {
	if i > 252 {
		return "", fmt.Errorf("agent %d: a loopback block holds 253 agents", i)
	}
	return fmt.Sprintf("127.19.%d.%d", h.k, i+2), nil
}

func (h *loopbackHosts) wrap(_ int, argv []string) []string { return argv }

func (h *loopbackHosts) close() error { return h.lock.Close() }

// labHosts places Serf agent i in namespace i of a testbed.Lab, on the
// same kind of network a -netns testbed gives farmhand's agents.
type labHosts struct {
	lab *testbed.Lab

	mu  sync.Mutex
	nss map[int]string
}

func (h *labHosts) addr(i int) (string, error) {
	ns, ip, err := h.lab.Host(context.Background(), i)
	if err != nil {
		return "", err
	}
	h.mu.Lock()
	h.nss[i] = ns
	h.mu.Unlock()
	return ip, nil
}

func (h *labHosts) wrap(i int, argv []string) []string {
	h.mu.Lock()
	ns := h.nss[i]
	h.mu.Unlock()
	return append([]string{"ip", "netns", "exec", ns}, argv...)
}

func (h *labHosts) close() error { return h.lab.Close() }

// newHostPlan returns loopback addresses, or namespaces of a fresh Lab.
func newHostPlan(netns bool) (hostPlan, error) {
	if !netns {
		return newLoopbackHosts()
	}
	lab, err := testbed.NewLab(context.Background())
	if err != nil {
		return nil, err
	}
	return &labHosts{lab: lab, nss: map[int]string{}}, nil
}
