package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Member statuses as the report compares them. farmhand's dead and Serf's
// failed are both statusDead.
const (
	statusAlive   = "alive"
	statusSuspect = "suspect"
	statusDead    = "dead"
	statusLeft    = "left"
)

// agent is one agent process of a farm.
type agent struct {
	// name is its member name.
	name string
	// pid is its process, for CPU and memory.
	pid int
	// view asks the agent for its members and their statuses.
	view func(ctx context.Context) (map[string]string, error)
}

// farm is N agents of one implementation on this machine.
type farm interface {
	// agents returns the running agents, the seed (if any) first.
	agents() []agent
	// launch starts one more agent, which joins the way the others did.
	launch(ctx context.Context) (agent, error)
	// kill SIGKILLs an agent, as a machine dies.
	kill(a agent) error
	// setLoss drops percent% of every agent's outgoing packets (netns
	// farms only).
	setLoss(ctx context.Context, percent int) error
	// logFiles are the agents' logs.
	logFiles() []string
	// launched counts instances launched by the farm itself (farmhand's
	// coordinator), beyond those the harness asked for.
	launched() int
	// close stops every agent and cleans up.
	close() error
}

// impl is an implementation under test.
type impl interface {
	name() string
	// describe says what runs and how it joins, for the report.
	describe() string
	// start launches n agents at once and returns when every process has
	// started (not joined).
	start(ctx context.Context, n int, o startOpts) (farm, error)
}

// startOpts are what a run may ask of a farm beyond its size.
type startOpts struct {
	// netns runs each agent in its own network namespace (loss runs).
	netns bool
	// coordinator runs farmhand's coordinator on every agent.
	coordinator bool
}

// pollEvery is how often the harness asks the agents that have not yet
// reached a condition; agents that have are not asked again, so polling
// costs little once most have converged.
const pollEvery = 200 * time.Millisecond

// pollParallel bounds concurrent queries.
const pollParallel = 16

// untilEach waits until cond holds for every agent's view (each agent is
// asked until it holds once) or timeout passes. It returns how long it
// took and the agents that never got there.
func untilEach(ctx context.Context, agents []agent, timeout time.Duration, cond func(a agent, view map[string]string) bool) (time.Duration, []string) {
	start := time.Now()
	pending := append([]agent(nil), agents...)
	deadline := start.Add(timeout)
	for {
		var mu sync.Mutex
		var still []agent
		sem := make(chan struct{}, pollParallel)
		var wg sync.WaitGroup
		for _, a := range pending {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				defer cancel()
				v, err := a.view(qctx)
				if err == nil && cond(a, v) {
					return
				}
				mu.Lock()
				still = append(still, a)
				mu.Unlock()
			}()
		}
		wg.Wait()
		pending = still
		if len(pending) == 0 {
			return time.Since(start), nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			names := make([]string, len(pending))
			for i, a := range pending {
				names[i] = a.name
			}
			return time.Since(start), names
		}
		select {
		case <-ctx.Done():
		case <-time.After(pollEvery):
		}
	}
}

// countStatus counts the members of view in status s.
func countStatus(view map[string]string, s string) int {
	n := 0
	for _, st := range view {
		if st == s {
			n++
		}
	}
	return n
}

// procStat is one process's CPU time and memory.
type procStat struct {
	cpu       time.Duration // user + system
	rss, anon int64         // bytes
}

// readProc reads /proc/pid/stat and /proc/pid/status.
func readProc(pid int) (procStat, error) {
	var s procStat
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return s, err
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	if len(f) < 13 {
		return s, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	s.cpu = time.Duration(ut+st) * time.Second / clockTicks
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			s.rss = kb << 10
		case "RssAnon":
			s.anon = kb << 10
		}
	}
	return s, nil
}

// clockTicks is USER_HZ, the unit of /proc/pid/stat's times: 100 on every
// Linux architecture Go runs on.
const clockTicks = 100
