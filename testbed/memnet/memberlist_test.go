package memnet

import (
	"fmt"
	"io"
	"log"
	"testing"
	"time"

	"github.com/farmhand/farmhand/testbed/testutil"
	"github.com/hashicorp/memberlist"
)

// startCluster runs k real memberlist instances over n, fast timers, each
// joined to the first; they are shut down when t ends.
func startCluster(t *testing.T, n *Network, k int) []*memberlist.Memberlist {
	t.Helper()
	nodes := make([]*memberlist.Memberlist, k)
	for i := range nodes {
		tr, err := n.NewTransport(Addr(i))
		if err != nil {
			t.Fatal(err)
		}
		cfg := memberlist.DefaultLocalConfig()
		cfg.Name = fmt.Sprintf("node-%d", i)
		cfg.Transport = tr
		cfg.Logger = log.New(io.Discard, "", 0)
		cfg.ProbeInterval = 100 * time.Millisecond
		cfg.ProbeTimeout = 50 * time.Millisecond
		cfg.GossipInterval = 20 * time.Millisecond
		cfg.SuspicionMult = 2
		cfg.TCPTimeout = time.Second
		cfg.PushPullInterval = 0 // partitions must stay split until the test joins
		m, err := memberlist.Create(cfg)
		if err != nil {
			t.Fatalf("memberlist.Create(%s): %v", cfg.Name, err)
		}
		t.Cleanup(func() { _ = m.Shutdown() })
		nodes[i] = m
		if i > 0 {
			if _, err := m.Join([]string{Addr(0)}); err != nil {
				t.Fatalf("%s join: %v", cfg.Name, err)
			}
		}
	}
	return nodes
}

// status returns how m sees the member called name, or "absent".
func status(m *memberlist.Memberlist, name string) string {
	for _, s := range m.Members() {
		if s.Name == name {
			return map[memberlist.NodeStateType]string{
				memberlist.StateAlive: "alive", memberlist.StateSuspect: "suspect",
				memberlist.StateDead: "dead", memberlist.StateLeft: "left",
			}[s.State]
		}
	}
	// Members omits dead nodes; NumMembers counts only live ones.
	return "absent"
}

// expectView waits until observer sees exactly the alive names.
func expectView(r *testutil.R, observer *memberlist.Memberlist, alive ...string) {
	got := map[string]bool{}
	for _, s := range observer.Members() {
		if s.State == memberlist.StateAlive {
			got[s.Name] = true
		}
	}
	if len(got) != len(alive) {
		r.Fatalf("%s sees %d alive (%v), want %v", observer.LocalNode().Name, len(got), got, alive)
	}
	for _, a := range alive {
		if !got[a] {
			r.Fatalf("%s does not see %s alive (sees %v)", observer.LocalNode().Name, a, got)
		}
	}
}

func TestMemberlistConvergesAndDetectsCrash(t *testing.T) {
	n := NewNetwork(nil)
	defer n.Shutdown()
	nodes := startCluster(t, n, 3)
	testutil.Run(t, 10*time.Second, func(r *testutil.R) {
		for _, m := range nodes {
			expectView(r, m, "node-0", "node-1", "node-2")
		}
	})
	before, _ := n.Stats(Addr(2))
	if err := n.Crash(Addr(2)); err != nil {
		t.Fatal(err)
	}
	testutil.Run(t, 15*time.Second, func(r *testutil.R) {
		for _, m := range nodes[:2] {
			if st := status(m, "node-2"); st != "dead" && st != "absent" {
				r.Fatalf("%s sees the crashed node-2 as %s", m.LocalNode().Name, st)
			}
			expectView(r, m, "node-0", "node-1")
		}
	})
	// The crashed instance kept running and sending (MockNetwork would
	// have delivered those packets); memnet lost every one of them.
	after, _ := n.Stats(Addr(2))
	if sent, lost := after.PacketsOut-before.PacketsOut, after.Lost-before.Lost; sent == 0 || lost != sent {
		t.Fatalf("crashed node sent %d packets after the crash and %d were lost; want some, all lost", sent, lost)
	}
}

func TestMemberlistPartitionAndHeal(t *testing.T) {
	n := NewNetwork(nil)
	defer n.Shutdown()
	nodes := startCluster(t, n, 3)
	testutil.Run(t, 10*time.Second, func(r *testutil.R) {
		for _, m := range nodes {
			expectView(r, m, "node-0", "node-1", "node-2")
		}
	})
	if err := n.Partition([]string{Addr(0)}, []string{Addr(1), Addr(2)}); err != nil {
		t.Fatal(err)
	}
	testutil.Run(t, 15*time.Second, func(r *testutil.R) {
		expectView(r, nodes[0], "node-0")
		expectView(r, nodes[1], "node-1", "node-2")
		expectView(r, nodes[2], "node-1", "node-2")
	})
	n.Heal()
	// memberlist does not heal by itself; a Join after the heal merges.
	if _, err := nodes[0].Join([]string{Addr(1)}); err != nil {
		t.Fatalf("join after heal: %v", err)
	}
	testutil.Run(t, 15*time.Second, func(r *testutil.R) {
		for _, m := range nodes {
			expectView(r, m, "node-0", "node-1", "node-2")
		}
	})
}
