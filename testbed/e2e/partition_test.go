package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// A 2|3 partition with coordinators on both sides (every agent runs one)
// replaces nothing, wherever the lease holder is. In the minority it lacks
// quorum; in the majority it sees the other side dead in gossip but EC2
// says those machines run and are healthy. After the heal the farm is whole.
func TestPartitionTwoThreeReplacesNothing(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testutil.NeedRoot(t, "partitions need network namespaces and nftables")
	testutil.NeedTool(t, "nft", "apt-get install nftables")
	testutil.NeedTool(t, "ip", "apt-get install iproute2")
	f := startFarm(t, farmOpts{nodes: 5, netns: true})
	leader, _ := f.leader()
	o := f.others(leader.ID)

	f.partitionPhase("leader in the minority", leader.ID, []string{leader.ID, o[0]}, o[1:], coordinator.CodeNoQuorum, "needs more than half")
	f.partitionPhase("leader in the majority", leader.ID, o[:2], []string{leader.ID, o[2], o[3]}, coordinator.CodeSilent, "agent down, machine healthy")
}

// partitionPhase cuts small from big, checks that nothing is launched or
// terminated for several dead_grace while leader keeps the lease and
// explains itself with code, then heals.
func (f *farm) partitionPhase(phase, leader string, small, big []string, code, reason string) {
	t := f.t
	t.Helper()
	start := time.Now()
	ec := f.tb.EC2()
	runs, terms := ec.CallCount("RunInstances"), ec.CallCount("TerminateInstances")
	if err := f.tb.Partition(f.ctx, small, big); err != nil {
		t.Fatalf("%s: %v", phase, err)
	}
	healed := false
	defer func() {
		if !healed {
			_ = f.tb.Heal(f.ctx)
		}
	}()
	for _, id := range small {
		f.waitDeadFor(id, deadGrace, big...)
	}
	for _, id := range big {
		f.waitDeadFor(id, deadGrace, small...)
	}
	t.Logf("%s: both sides see the other dead for dead_grace after %s", phase, time.Since(start).Round(time.Millisecond))
	f.consistently(quiet, func() error {
		if n := ec.CallCount("RunInstances"); n != runs {
			return fmt.Errorf("%s: RunInstances called %d times during the partition", phase, n-runs)
		}
		if n := ec.CallCount("TerminateInstances"); n != terms {
			return fmt.Errorf("%s: TerminateInstances called %d times during the partition", phase, n-terms)
		}
		l, _, err := Leader(f.ctx, f.tb)
		if err != nil || l.ID != leader {
			return fmt.Errorf("%s: the lease moved or split during the partition: %s, %v", phase, l.ID, err)
		}
		return nil
	})
	other := big
	if !slices.Contains(small, leader) {
		other = small
	}
	ds := f.history(leader)
	for _, id := range other {
		d, ok := findDecision(ds, coordinator.ActionSkip, code, id)
		if !ok {
			d, ok = findDecision(ds, coordinator.ActionReport, code, id)
		}
		switch {
		case !ok:
			t.Errorf("%s: leader %s has no %s decision for %s across the partition", phase, leader, code, id)
		case !strings.Contains(d.Reason, reason):
			t.Errorf("%s: leader %s's %s decision for %s says %q, want %q in it", phase, leader, code, id, d.Reason, reason)
		}
	}
	for _, d := range ds {
		if d.Action == coordinator.ActionReplace || d.Action == coordinator.ActionTopUp {
			t.Errorf("%s: decision during the partition: %+v", phase, d)
		}
	}

	if err := f.tb.Heal(f.ctx); err != nil {
		t.Fatalf("%s: %v", phase, err)
	}
	healed = true
	healAt := time.Now()
	f.eventually(healTimeout, func(r *testutil.R) {
		if err := AllSeeAlive(f.ctx, f.tb, len(small)+len(big)); err != nil {
			r.Fatalf("%s: after the heal: %v", phase, err)
		}
	})
	t.Logf("%s: whole again %s after the heal", phase, time.Since(healAt).Round(time.Millisecond))
}
