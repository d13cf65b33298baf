package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/testbed"
	"github.com/farmhand/farmhand/testbed/agentcost"
	"github.com/farmhand/farmhand/testbed/e2e"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// Rows measured on real agent processes (the testbed and agentcost), not in
// the in-memory harness. Each returns its figure, or the reason it has none
// (the report then shows the row as not measured). No number is made up.

// measureAgentRSS1000 starts one real `farmhand agent` process joined to
// 999 members hosted in this process with slow timers (package agentcost),
// waits for the agent's full view and reads its memory and CPU from /proc.
// Target: <= 20 MB RSS.
func measureAgentRSS1000(ctx context.Context) (string, error) {
	dir, err := os.MkdirTemp("", "farmhand-agentcost-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	r, err := agentcost.Measure(ctx, agentcost.Config{Members: 999, Bin: farmhandBin(), Dir: dir,
		Settle: 10 * time.Second, Window: 30 * time.Second})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("RSS %.1f MB = %.1f MB anonymous (heap, stacks) + %.1f MB file-backed (pages of the %s binary, shared and reclaimable); PSS %.1f MB. "+
		"Full view of %d members %.2f s after start. CPU %.1f ms per second at rest (hosted members use slow timers, so the agent receives less gossip than in a real cluster)",
		mb(r.RSSKB), mb(r.AnonKB), mb(r.FileKB), binSize(), mb(r.PSSKB), r.Members, r.FullView.Seconds(), float64(r.CPUPerSecond.Microseconds())/1000), nil
}

// measureReplacementLatency crashes testbed instances one at a time with the
// coordinator running and splits crash -> replacement alive everywhere
// into its stages (e2e.MeasureReplacement). Target: dead verdict ->
// RunInstances <= 1 s.
func measureReplacementLatency(ctx context.Context) (string, error) {
	tb, cleanup, err := startFarm(ctx, 5, "dead_grace = \"2s\"\nnew_instance_grace = \"1s\"\nmax_replacements = 10")
	if err != nil {
		return "", err
	}
	defer cleanup()
	if err := eventually(2*time.Minute, func() error { return e2e.AllSeeAlive(ctx, tb, 5) }); err != nil {
		return "", err
	}
	var ts []e2e.ReplacementTiming
	for i := 0; i < 5; i++ {
		// Never the lease holder: that would measure a failover.
		var leader testbed.InstanceState
		if err := eventually(time.Minute, func() (err error) { leader, _, err = e2e.Leader(ctx, tb); return err }); err != nil {
			return "", err
		}
		victim := ""
		for _, id := range tb.Instances() {
			if id != leader.ID {
				victim = id
				break
			}
		}
		t, err := e2e.MeasureReplacement(ctx, tb, victim, 60*time.Second)
		if err != nil {
			return "", fmt.Errorf("replacement %d: %w", i+1, err)
		}
		ts = append(ts, t)
		if err := eventually(2*time.Minute, func() error { return e2e.AllSeeAlive(ctx, tb, 5) }); err != nil {
			return "", err
		}
	}
	m := e2e.MedianTiming(ts)
	return fmt.Sprintf("median of %d on 5 nodes (local profile, dead_grace 2 s): verdict -> RunInstances %s; crash -> dead in gossip %s, dead -> verdict %s (dead_grace), launch -> alive in every view %s (the emulator boots at once), crash -> replacement alive everywhere %s",
		len(ts), m.Act.Round(time.Millisecond), m.Detection.Round(time.Millisecond), m.Verdict.Round(time.Millisecond), m.LaunchToJoin.Round(time.Millisecond), m.Total.Round(time.Millisecond)), nil
}

// measureMassDeath crashes many testbed instances at once and counts the
// RunInstances calls and throttling errors the coordinator causes. Target:
// 100 deaths -> <= 2 RunInstances calls, 0 throttling errors. Quick mode
// runs 20 deaths among 45 instances; full mode 100 among 210 (fewer than
// 0.55 of the group, and the survivors keep a quorum).
func measureMassDeath(ctx context.Context) (string, error) {
	nodes, deaths := 45, 20
	if benchMode == "full" {
		nodes, deaths = 210, 100
	}
	tb, cleanup, err := startFarm(ctx, nodes, "dead_grace = \"3s\"\nnew_instance_grace = \"1s\"\nmax_replacements = 200")
	if err != nil {
		return "", err
	}
	defer cleanup()
	if err := eventually(5*time.Minute, func() error { return e2e.AllSeeAlive(ctx, tb, nodes) }); err != nil {
		return "", err
	}
	var leader testbed.InstanceState
	if err := eventually(time.Minute, func() (err error) { leader, _, err = e2e.Leader(ctx, tb); return err }); err != nil {
		return "", err
	}
	var victims []string
	for _, id := range tb.Instances() {
		if id != leader.ID && len(victims) < deaths {
			victims = append(victims, id)
		}
	}
	before := map[string]bool{}
	for _, in := range tb.EC2().Instances() {
		before[in.ID] = true
	}
	tb.EC2().ResetCounters()
	for _, id := range victims {
		if err := tb.Crash(id); err != nil {
			return "", err
		}
	}
	// Every instance of a batch carries the whole list of replaced ids in
	// its farmhand:replaces tag, so count launches, not tags: a duplicate
	// is any launch beyond one per death. Wait until there are enough,
	// then a while longer for any extra.
	launched := func() int {
		n := 0
		for _, in := range tb.EC2().Instances() {
			if !before[in.ID] && in.Tags[coordinator.TagBatch] != "" {
				n++
			}
		}
		return n
	}
	err = testutil.Poll(5*time.Minute, 250*time.Millisecond, func(r *testutil.R) {
		if n := launched(); n < len(victims) {
			r.Fatalf("%d of %d deaths replaced", n, len(victims))
		}
	})
	if err != nil {
		return "", err
	}
	settle := time.NewTimer(15 * time.Second)
	select {
	case <-ctx.Done():
	case <-settle.C:
	}
	dup := launched() - len(victims)
	throttled := tb.EC2().Errors()["RequestLimitExceeded"]
	return fmt.Sprintf("%d simultaneous deaths among %d instances: %d RunInstances call(s), %d TerminateInstances call(s), %d throttling errors, %d duplicate launches",
		deaths, nodes, tb.EC2().CallCount("RunInstances"), tb.EC2().CallCount("TerminateInstances"), throttled, dup), nil
}

// measureColdStartCalls starts a farm in which every agent is a
// coordinator candidate and counts the coordinator's EC2 and S3 calls
// until every agent sees every other alive and a leader holds the lease:
// a cold start is a storm of membership events, and the calls must not
// follow it (testbed/e2e's TestCoordinatorCallsStayBoundedDuringColdStart
// asserts the bounds; this row gives the figures at 50 or 200 agents).
func measureColdStartCalls(ctx context.Context) (string, error) {
	nodes := 50
	if benchMode == "full" {
		nodes = 200
	}
	start := time.Now()
	tb, cleanup, err := startFarm(ctx, nodes, "")
	if err != nil {
		return "", err
	}
	defer cleanup()
	if err := eventually(5*time.Minute, func() error {
		if err := e2e.AllSeeAlive(ctx, tb, nodes); err != nil {
			return err
		}
		_, _, err := e2e.Leader(ctx, tb)
		return err
	}); err != nil {
		return "", err
	}
	formed := time.Since(start)
	ec2 := tb.EC2().Calls()
	s3 := tb.S3().Counts()
	maxGet := 0
	for _, in := range e2e.Running(tb) {
		maxGet = max(maxGet, tb.S3().CountsFrom(in.IP).Get)
	}
	return fmt.Sprintf("%d agents, all candidates (interval 1 s), formed in %s: EC2 %d DescribeInstances, %d RunInstances (the testbed's own launch), %d TerminateInstances; "+
		"S3 %d PUT, %d GET, %d LIST, %d DELETE in all, at most %d GETs by one agent (lease reads)",
		nodes, formed.Round(100*time.Millisecond), ec2["DescribeInstances"], ec2["RunInstances"], ec2["TerminateInstances"],
		s3.Put, s3.Get, s3.List, s3.Delete, maxGet), nil
}

// eventually polls f until it returns nil or timeout passes.
func eventually(timeout time.Duration, f func() error) error {
	return testutil.Poll(timeout, 250*time.Millisecond, func(r *testutil.R) {
		if err := f(); err != nil {
			r.Fatalf("%v", err)
		}
	})
}

// startFarm starts a testbed with the coordinator on every instance.
func startFarm(ctx context.Context, nodes int, coordinatorHCL string) (*testbed.Testbed, func(), error) {
	dir, err := os.MkdirTemp("", "farmhand-bench-tb-")
	if err != nil {
		return nil, nil, err
	}
	cfg := testbed.DefaultConfig()
	cfg.Dir, cfg.Nodes, cfg.Coordinator, cfg.Bin = dir, nodes, true, farmhandBin()
	cfg.CoordinatorHCL = coordinatorHCL
	cfg.LogLevel = "warn"
	if nodes > 50 {
		cfg.Profile = "lan" // the local profile's timers cannot run 200 processes on 2 cores
	}
	tb, err := testbed.Start(ctx, cfg)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return tb, func() { tb.Close(); os.RemoveAll(dir) }, nil
}

// farmhandBin is the binary the testbed and agentcost run.
func farmhandBin() string {
	if p := os.Getenv("FARMHAND_BIN"); p != "" {
		return p
	}
	return "bin/farmhand"
}

func binSize() string {
	st, err := os.Stat(farmhandBin())
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%.0f MB", float64(st.Size())/1e6)
}

func mb(kb int) float64 { return float64(kb) / 1024 }

// benchMode is -mode (quick or full), set by main.
var benchMode = "quick"

// hooks are the process-level rows in report order.
var hooks = []struct {
	What, Target string
	Measure      func(context.Context) (string, error)
}{
	{"agent memory with 1,000 members (RSS of one real agent process)", "<= 20 MB RSS", measureAgentRSS1000},
	{"dead verdict to RunInstances (testbed)", "<= 1 s", measureReplacementLatency},
	{"100 simultaneous deaths (testbed)", "<= 2 RunInstances calls, 0 throttling errors", measureMassDeath},
	{"coordinator calls during a cold start (testbed; 200 agents in full mode, 50 in quick)", "<= 1 DescribeInstances and 1 lease read per agent per interval, no launch", measureColdStartCalls},
}

// runHooks runs every hook and records its figure or why it has none.
func (r *report) runHooks(ctx context.Context) {
	for _, h := range hooks {
		v, err := h.Measure(ctx)
		hr := hookResult{What: h.What, Target: h.Target, Value: v}
		if err != nil {
			hr.Err = err.Error()
		}
		r.Hooks = append(r.Hooks, hr)
	}
}
