package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/farmhand/farmhand/testbed"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// coldStartNodes is the farm size of TestCoordinatorCallsStayBoundedDuringColdStart:
// FARMHAND_COLDSTART_NODES, default 12 (BENCHMARKS.md's figures are from 200).
func coldStartNodes(t *testing.T) int {
	if s := os.Getenv("FARMHAND_COLDSTART_NODES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 2 || n > 200 {
			t.Fatalf("FARMHAND_COLDSTART_NODES=%q: want 2 to 200", s)
		}
		return n
	}
	return 12
}

// A cold start is a storm of membership events: every agent sees every
// other join. Every agent runs the coordinator here (the testbed's
// interval is 1 s), and still each agent reads the lease at most once per
// interval, and the leader calls DescribeInstances at most once per
// interval (it needs EC2 while the group is short of min, that is, until
// every instance has joined) and launches nothing. The counts are logged
// for BENCHMARKS.md.
func TestCoordinatorCallsStayBoundedDuringColdStart(t *testing.T) {
	skipShort(t)
	nodes := coldStartNodes(t)
	dir, err := os.MkdirTemp("", "fh-cold-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	logf, err := os.Create(filepath.Join(dir, "testbed.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const interval = time.Second // the testbed's coordinator interval
	cfg := testbed.Config{
		Dir: dir, Nodes: nodes, Coordinator: true, Bin: testutil.FarmhandBinary(t), Profile: "local", LogLevel: "warn",
		Logger: hclog.New(&hclog.LoggerOptions{Name: "testbed", Output: logf, Level: hclog.Info}),
	}
	if nodes > 50 {
		cfg.Profile = "lan" // as the bench: the local profile's timers cannot run 200 processes on 2 cores
		// 200 agents booting at once on 2 cores wait for their IMDS
		// emulators longer than the 2 s default, and would exit (systemd
		// would restart them; the testbed does not).
		cfg.ExtraHCL = "identity {\n  imds_timeout = \"60s\"\n}"
	}
	start := time.Now()
	tb, err := testbed.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	defer tb.Close()
	// The window ends when the farm has formed, or, with
	// FARMHAND_COLDSTART_WINDOW, after that long whether it has formed or
	// not (200 real agents do not converge on a loaded 2-core machine,
	// and the bounds must hold all the same).
	var formed time.Duration
	if w := os.Getenv("FARMHAND_COLDSTART_WINDOW"); w != "" {
		window, err := time.ParseDuration(w)
		if err != nil {
			t.Fatalf("FARMHAND_COLDSTART_WINDOW=%q: %v", w, err)
		}
		// A measuring window, not a wait for a condition.
		select {
		case <-ctx.Done():
		case <-time.After(time.Until(start.Add(window))):
		}
		formed = time.Since(start)
		if err := AllSeeAlive(ctx, tb, nodes); err != nil {
			t.Logf("not formed after %s: %v", formed.Round(time.Second), err)
		}
	} else if err := testutil.Poll(formTimeout+time.Duration(nodes)*time.Second, 100*time.Millisecond, func(r *testutil.R) {
		if err := AllSeeAlive(ctx, tb, nodes); err != nil {
			r.Fatalf("%v", err)
		}
		if _, _, err := Leader(ctx, tb); err != nil {
			r.Fatalf("%v", err)
		}
		formed = time.Since(start)
	}); err != nil {
		t.Fatal(err)
	}
	ec2Calls := tb.EC2().Calls()
	s3 := tb.S3().Counts()
	rounds := int(formed/interval) + 2
	maxGets, maxPuts := 0, 0
	for _, in := range Running(tb) {
		c := tb.S3().CountsFrom(in.IP)
		maxGets, maxPuts = max(maxGets, c.Get), max(maxPuts, c.Put)
		// Without signing_key, the registry reads no record: every GET
		// is a lease read, or, once each, the ledger and the published
		// view read by a new leader.
		if c.Get > rounds+2 {
			t.Errorf("%s made %d GETs in a %s cold start: more than one lease read per %s round", in.ID, c.Get, formed.Round(time.Millisecond), interval)
		}
	}
	if n := ec2Calls["DescribeInstances"]; n > rounds {
		t.Errorf("%d DescribeInstances in %s: more than one per %s", n, formed.Round(time.Millisecond), interval)
	}
	if n := ec2Calls["RunInstances"]; n != 1 { // the testbed's own launch
		t.Errorf("%d RunInstances calls, want only the testbed's launch: a cold start is no death", n)
	}
	if n := ec2Calls["TerminateInstances"]; n != 0 {
		t.Errorf("%d TerminateInstances calls during a cold start", n)
	}
	t.Logf("cold start of %d agents (all coordinator candidates, interval %s), window %s", nodes, interval, formed.Round(time.Millisecond))
	t.Logf("EC2: %v (RunInstances includes the testbed's launch)", ec2Calls)
	t.Logf("S3 total: %d PUT, %d GET, %d LIST, %d DELETE; the registry's share is 1 PUT + 1 LIST per agent, the rest is the lease and the ledger", s3.Put, s3.Get, s3.List, s3.Delete)
	t.Logf("per agent at most %d GETs and %d PUTs (%d rounds); %d of %d agent processes running at the end", maxGets, maxPuts, rounds, len(Running(tb)), nodes)
	for _, in := range tb.State().Instances {
		if in.Agent != agentRunning {
			t.Logf("agent %s is %s; its log ends:\n%s", in.ID, in.Agent, tail(in.Log, 3))
			break
		}
	}
}
