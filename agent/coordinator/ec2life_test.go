package coordinator

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/farmhand/farmhand/membership"
)

// EC2 as it really is (issue 13): stopped instances, spot notices, Auto
// Scaling groups, and a cluster that starts from one seed. Gate tests in
// the style of gates_test.go, on the fakes and a fake clock.

// storedLedger decodes the ledger object as the harness's store holds it.
func (h *harness) storedLedger() ledgerState {
	h.t.Helper()
	var st ledgerState
	if err := json.Unmarshal(h.store.object(h.cfg.Bucket, h.cfg.Prefix+"ledger.json"), &st); err != nil {
		h.t.Fatalf("ledger object: %v", err)
	}
	return st
}

// A stopped instance keeps its id, address and disks: the coordinator
// waits stopped_grace, and says why in the ledger and in its status. If
// the instance is started within the grace, nothing is ever done.
func TestStoppedWaitsStoppedGraceAndStartBringsItBack(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.StoppedGrace = 30 * time.Minute; c.Groups[0].Min = 5 })
	h.alive(1, 4, "worker")
	id := h.dead(9, "worker", stopped, "")
	for range 4 {
		h.tick(h.c)
		h.clock.Advance(5 * time.Minute)
	}
	if n := h.ec2.mutations(); n != 0 {
		t.Fatalf("%d EC2 mutations for an instance stopped for less than stopped_grace", n)
	}
	d := mustDecision(t, h.c, CodeStoppedGrace, id)
	if d.Action != ActionSkip || !strings.Contains(d.Reason, "stopped_grace 30m0s") || d.Evidence.EC2State != "stopped" {
		t.Fatalf("decision %+v (evidence %+v)", d, d.Evidence)
	}
	if i := slices.IndexFunc(h.c.Status().LastDecisions, func(d Decision) bool { return d.Code == CodeStoppedGrace && d.Instance == id }); i < 0 {
		t.Fatalf("coordinator status does not say why the stopped instance waits: %+v", h.c.Status().LastDecisions)
	}
	if i := slices.IndexFunc(h.storedLedger().Decisions, func(d Decision) bool { return d.Code == CodeStoppedGrace && d.Instance == id }); i < 0 {
		t.Fatal("the ledger in S3 does not say why the stopped instance waits")
	}
	if n := len(decisions(h.c, CodeStoppedGrace)); n != 1 {
		t.Fatalf("%d stopped_grace decisions in 4 ticks, want 1 (repeats are not recorded)", n)
	}
	// start-instances: the same id comes back alive.
	h.ec2.set(id, running, ok)
	h.view.put(membership.Member{Name: id, Status: membership.StatusAlive, Since: h.clock.Now(), Tags: map[string]string{"role": "worker"}})
	h.clock.Advance(time.Hour)
	h.tick(h.c)
	if n := h.ec2.mutations(); n != 0 {
		t.Fatalf("%d EC2 mutations after the instance was started again", n)
	}
	if len(h.pruned) != 0 {
		t.Fatalf("registry records pruned: %v", h.pruned)
	}
}

func TestStoppedReplacedAfterStoppedGrace(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.StoppedGrace = 30 * time.Minute })
	h.alive(1, 4, "worker")
	id := h.dead(9, "worker", stopped, "")
	h.tick(h.c)
	mustDecision(t, h.c, CodeStoppedGrace, id)
	h.clock.Advance(28 * time.Minute) // dead for 30 min
	h.tick(h.c)
	d := mustDecision(t, h.c, CodeStopped, id)
	if d.Action != ActionReplace || !strings.Contains(d.Reason, ">= stopped_grace 30m0s") {
		t.Fatalf("decision %+v", d)
	}
	if got := h.ec2.instance(id).state; got != ec2types.InstanceStateNameShuttingDown {
		t.Fatalf("stopped instance is %s, want terminated before its replacement", got)
	}
	if n := h.ec2.createdCount(); n != 1 {
		t.Fatalf("%d launched, want 1", n)
	}
}

// stopped_grace = 0: a stopped instance is never replaced, and it keeps its
// place in the group (no top-up around it).
func TestStoppedGraceZeroNeverReplaces(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.StoppedGrace = 0; c.Groups[0].Min = 5 })
	h.alive(1, 4, "worker")
	id := h.member(9, "worker", membership.StatusDead, 72*time.Hour, stopped, "")
	h.tick(h.c)
	if d := mustDecision(t, h.c, CodeStoppedGrace, id); !strings.Contains(d.Reason, "never") {
		t.Fatalf("reason %q", d.Reason)
	}
	if n := h.ec2.mutations(); n != 0 {
		t.Fatalf("%d EC2 mutations with stopped_grace 0", n)
	}
}

// A draining member (a spot interruption, an Auto Scaling termination) is
// replaced at the notice, one for one, with the usual ClientToken; it is
// not terminated, does not count against max, and its death later is not
// replaced again. A group at min is not topped up for it besides.
func TestDrainingReplacedAtTheNoticeOnceAndNotCountedAgainstMax(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Groups[0].Min, c.Groups[0].Max = 5, 5 })
	h.alive(1, 4, "worker")
	id := h.member(9, "worker", membership.StatusDraining, 0, running, ok)
	h.tick(h.c)
	d := mustDecision(t, h.c, CodeDraining, id)
	if d.Action != ActionReplace {
		t.Fatalf("decision %+v", d)
	}
	if n := h.ec2.count("RunInstances"); n != 1 {
		t.Fatalf("RunInstances calls = %d at the notice, want 1%s", n, historyString(h.c))
	}
	in := h.ec2.lastRun()
	if want := clientToken("c1", "workers", []string{id}, 0, 0); aws.ToString(in.ClientToken) != want || aws.ToInt32(in.MaxCount) != 1 {
		t.Fatalf("RunInstances token %q count %d, want %q and 1", aws.ToString(in.ClientToken), aws.ToInt32(in.MaxCount), want)
	}
	if tagsOf(in)[TagReplaces] != id {
		t.Fatalf("tags %v", tagsOf(in))
	}
	if n := h.ec2.count("TerminateInstances"); n != 0 {
		t.Fatal("the draining instance was terminated: it is EC2's to end, after its agent has left")
	}
	if st := h.storedLedger(); !slices.Contains(st.Batches[0].Keep, id) || slices.Contains(st.Batches[0].Unpruned, id) {
		t.Fatalf("batch %+v: want %s kept (not terminated, not pruned)", st.Batches[0], id)
	}
	// The replacement joins; the old instance is interrupted and dies.
	for _, n := range h.ec2.launchedBy("workers") {
		h.ec2.set(n, running, ok)
		h.view.put(membership.Member{Name: n, Status: membership.StatusAlive, Since: h.clock.Now(), Tags: map[string]string{"role": "worker"}})
	}
	h.clock.Advance(2 * time.Minute)
	h.ec2.set(id, terminated, "")
	h.view.put(membership.Member{Name: id, Status: membership.StatusDead, Since: h.clock.Now(), Tags: map[string]string{"role": "worker"}})
	for range 3 {
		h.clock.Advance(time.Minute)
		h.tick(h.c)
	}
	if n := h.ec2.createdCount(); n != 1 {
		t.Fatalf("%d launched for one interruption, want exactly 1%s", n, historyString(h.c))
	}
	if len(h.pruned) != 0 {
		t.Fatalf("pruned %v: a draining node deletes its own record", h.pruned)
	}
}

// A resumed batch (failover between the ledger write and RunInstances)
// still does not terminate the draining instance.
func TestResumedNoticeBatchDoesNotTerminate(t *testing.T) {
	h := newHarness(t, nil)
	h.alive(1, 4, "worker")
	id := h.member(9, "worker", membership.StatusDraining, 0, running, ok)
	h.ec2.throttle["RunInstances"] = 1
	h.tick(h.c)
	mustDecision(t, h.c, CodeLaunchFailed, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h.c.shutdown(ctx)
	c2, err := New(h.cfg, h.ec2, h.store, &fakeView{self: membership.Member{Name: iid(0xc01), Status: membership.StatusAlive}, members: h.view.Members()})
	if err != nil {
		t.Fatal(err)
	}
	h.tick(c2)
	if n := h.ec2.createdCount(); n != 1 || h.ec2.count("TerminateInstances") != 0 {
		t.Fatalf("resumed batch: %d launched, %d TerminateInstances for draining %s; want 1 and 0", n, h.ec2.count("TerminateInstances"), id)
	}
}

// on_rebalance: "warn" (the default) reports and launches nothing;
// "replace" launches one for one, within max (the instance still runs).
func TestRebalancePolicy(t *testing.T) {
	rebalanced := func(h *harness) string {
		id := h.member(9, "worker", membership.StatusAlive, 0, running, ok)
		h.view.put(membership.Member{Name: id, Status: membership.StatusAlive, Tags: map[string]string{"role": "worker", MemberTagRebalance: "1"}})
		return id
	}
	t.Run("warn", func(t *testing.T) {
		h := newHarness(t, nil)
		h.alive(1, 4, "worker")
		id := rebalanced(h)
		h.tick(h.c)
		if d := mustDecision(t, h.c, CodeRebalance, id); d.Action != ActionReport || !strings.Contains(d.Reason, "warn") {
			t.Fatalf("decision %+v", d)
		}
		if n := h.ec2.mutations(); n != 0 {
			t.Fatalf("%d EC2 mutations for a rebalance recommendation with on_rebalance = warn", n)
		}
	})
	t.Run("replace", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.OnRebalance = RebalanceReplace })
		h.alive(1, 4, "worker")
		id := rebalanced(h)
		h.tick(h.c)
		if d := mustDecision(t, h.c, CodeRebalance, id); d.Action != ActionReplace {
			t.Fatalf("decision %+v", d)
		}
		if n, term := h.ec2.createdCount(), h.ec2.count("TerminateInstances"); n != 1 || term != 0 {
			t.Fatalf("%d launched, %d TerminateInstances; want 1 and 0", n, term)
		}
		h.tick(h.c)
		if n := h.ec2.count("RunInstances"); n != 1 {
			t.Fatalf("RunInstances calls = %d, want 1 (never twice)", n)
		}
	})
	t.Run("replace at max", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.OnRebalance = RebalanceReplace; c.Groups[0].Max = 5 })
		h.alive(1, 4, "worker")
		id := rebalanced(h)
		h.tick(h.c)
		mustDecision(t, h.c, CodeMaxReached, id)
		if n := h.ec2.mutations(); n != 0 {
			t.Fatalf("%d EC2 mutations: a rebalanced instance still runs and counts against max", n)
		}
	})
}

// An instance that carries aws:autoscaling:groupName belongs to its group:
// the coordinator never terminates or replaces it, dead or draining, and
// does not top up around it.
func TestAutoScalingInstanceIsNeverTouched(t *testing.T) {
	asg := map[string]string{TagASGroup: "farm-asg"}
	t.Run("dead", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.Groups[0].Min = 5 })
		h.alive(1, 4, "worker")
		id := h.dead(9, "worker", terminated, "")
		h.ec2.add(id, terminated, "", h.clock.Now().Add(-time.Hour), map[string]string{TagCluster: "c1", TagASGroup: "farm-asg"})
		h.tick(h.c)
		if d := mustDecision(t, h.c, CodeASGOwned, id); d.Action != ActionSkip || d.Evidence.ASGroup != "farm-asg" || !strings.Contains(d.Reason, "farm-asg") {
			t.Fatalf("decision %+v", d)
		}
		if n := h.ec2.mutations(); n != 0 {
			t.Fatalf("%d EC2 mutations for an Auto Scaling group's instance", n)
		}
		// Its ownership is remembered: it costs no DescribeInstances every
		// interval until gossip reaps it.
		describes := h.ec2.count("DescribeInstances")
		for range 5 {
			h.clock.Advance(h.cfg.Interval)
			h.tick(h.c)
		}
		if n := h.ec2.count("DescribeInstances") - describes; n != 0 || h.ec2.mutations() != 0 {
			t.Fatalf("%d more DescribeInstances (and %d mutations) for a known Auto Scaling instance", n, h.ec2.mutations())
		}
	})
	t.Run("draining, untagged by farmhand", func(t *testing.T) {
		h := newHarness(t, nil)
		h.alive(1, 4, "worker")
		id := iid(9)
		h.view.put(membership.Member{Name: id, Status: membership.StatusDraining, Since: h.clock.Now(), Tags: map[string]string{"role": "worker"}})
		h.ec2.add(id, running, ok, h.clock.Now().Add(-time.Hour), asg) // no farmhand:cluster: asked by id
		h.tick(h.c)
		mustDecision(t, h.c, CodeEC2Unavailable, id)
		h.tick(h.c)
		mustDecision(t, h.c, CodeASGOwned, id)
		if n := h.ec2.mutations(); n != 0 {
			t.Fatalf("%d EC2 mutations for a draining Auto Scaling instance", n)
		}
	})
	t.Run("stopped past stopped_grace", func(t *testing.T) {
		h := newHarness(t, nil)
		h.alive(1, 4, "worker")
		id := h.member(9, "worker", membership.StatusDead, 5*time.Hour, stopped, "")
		h.ec2.add(id, stopped, "", h.clock.Now().Add(-10*time.Hour), map[string]string{TagCluster: "c1", TagASGroup: "farm-asg"})
		h.tick(h.c)
		mustDecision(t, h.c, CodeASGOwned, id)
		if n := h.ec2.mutations(); n != 0 {
			t.Fatalf("%d EC2 mutations", n)
		}
	})
}

// A brand-new cluster grows from one seed instance to min; once it has
// been seen at quorum (formed, in the ledger), the partition guard applies
// as always, to this leader and to any successor.
func TestNewClusterGrowsFromItsSeedThenGuardsPartitions(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Groups[0].Min = 3 })
	seed := h.view.self.Name
	h.ec2.add(seed, running, ok, h.clock.Now().Add(-time.Hour), map[string]string{TagCluster: "c1"})
	h.tick(h.c)
	d := mustDecision(t, h.c, CodeBelowMin, "")
	if !d.Evidence.Bootstrap || !strings.Contains(d.Reason, "new cluster") {
		t.Fatalf("top-up %+v (evidence %+v), want a bootstrap top-up", d, d.Evidence)
	}
	mustDecision(t, h.c, CodeBootstrap, "")
	if n := h.ec2.createdCount(); n != 3 {
		t.Fatalf("%d launched from the seed, want 3 (min)%s", n, historyString(h.c))
	}
	// The launches are pending: 1 of the 4 instances that exist answers,
	// no quorum, and nothing more is launched.
	h.clock.Advance(time.Minute)
	h.tick(h.c)
	if n := h.ec2.count("RunInstances"); n != 1 {
		t.Fatalf("RunInstances calls = %d while the launches boot, want 1", n)
	}
	if h.c.Status().Formed != (time.Time{}) {
		t.Fatal("formed before the cluster reached quorum")
	}
	// They join: the cluster is formed.
	workers := h.ec2.launchedBy("workers")
	for _, id := range workers {
		h.ec2.set(id, running, ok)
		h.view.put(membership.Member{Name: id, Status: membership.StatusAlive, Since: h.clock.Now(), Tags: map[string]string{"role": "worker"}})
	}
	h.clock.Advance(time.Minute)
	h.tick(h.c)
	mustDecision(t, h.c, CodeFormed, "")
	if h.storedLedger().Formed.IsZero() || h.c.Status().Formed.IsZero() {
		t.Fatal("the ledger does not record the cluster as formed")
	}
	// A partition: the leader sees every worker dead (their machines still
	// run, as far as it can tell). Formed: no quorum, no EC2 call, nothing done.
	describes := h.ec2.count("DescribeInstances")
	for _, id := range workers {
		h.view.put(membership.Member{Name: id, Status: membership.StatusDead, Since: h.clock.Now().Add(-10 * time.Minute), Tags: map[string]string{"role": "worker"}})
		h.ec2.set(id, terminated, "") // even if EC2 were to say so
	}
	h.clock.Advance(time.Minute)
	h.tick(h.c)
	mustDecision(t, h.c, CodeNoQuorum, workers[0])
	if n := h.ec2.count("RunInstances"); n != 1 || h.ec2.count("DescribeInstances") != describes {
		t.Fatalf("a formed cluster's leader without quorum launched (%d calls) or asked EC2", n)
	}
	// A successor reads the ledger: formed too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h.c.shutdown(ctx)
	c2, err := New(h.cfg, h.ec2, h.store, h.view)
	if err != nil {
		t.Fatal(err)
	}
	h.tick(c2)
	if !c2.Status().Leader {
		t.Fatal("successor is not leader")
	}
	mustDecision(t, c2, CodeNoQuorum, workers[0])
	if n := h.ec2.count("RunInstances"); n != 1 {
		t.Fatalf("the successor launched: RunInstances calls = %d", n)
	}
}

// A new cluster's seed cut off from instances that exist (two seeds
// launched by hand, gossip between them broken) lacks the bootstrap
// quorum: EC2's count of what exists is the floor.
func TestNewClusterSeedCutOffFromOtherInstancesDoesNotGrow(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Groups[0].Min = 3 })
	h.ec2.add(h.view.self.Name, running, ok, h.clock.Now().Add(-time.Hour), map[string]string{TagCluster: "c1"})
	h.ec2.add(iid(0x5eed), running, ok, h.clock.Now().Add(-time.Hour), map[string]string{TagCluster: "c1"})
	h.tick(h.c)
	if d := mustDecision(t, h.c, CodeBootstrap, ""); d.Evidence.QuorumAlive != 1 || d.Evidence.QuorumTotal != 2 {
		t.Fatalf("bootstrap evidence %+v, want 1 of 2", d.Evidence)
	}
	if n := h.ec2.mutations(); n != 0 {
		t.Fatalf("%d EC2 mutations by a seed that sees 1 of 2 instances", n)
	}
}

// With room under max, a group at min with a draining member gets exactly
// its one-for-one replacement: the draining member is not also made up for
// by a top-up (before, it counted nowhere: topped up at the notice, then
// replaced again at its death).
func TestDrainingIsNotAlsoToppedUp(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Groups[0].Min, c.Groups[0].Max = 5, 10 })
	h.alive(1, 4, "worker")
	id := h.member(9, "worker", membership.StatusDraining, 0, running, ok)
	h.tick(h.c)
	if n := h.ec2.createdCount(); n != 1 {
		t.Fatalf("%d launched at the notice, want 1%s", n, historyString(h.c))
	}
	if len(decisions(h.c, CodeBelowMin)) != 0 {
		t.Fatalf("topped up besides the replacement:%s", historyString(h.c))
	}
	h.ec2.set(id, terminated, "")
	h.view.put(membership.Member{Name: id, Status: membership.StatusDead, Since: h.clock.Now(), Tags: map[string]string{"role": "worker"}})
	h.clock.Advance(5 * time.Minute)
	h.tick(h.c)
	if n := h.ec2.createdCount(); n != 1 {
		t.Fatalf("%d launched after the draining member died, want still 1%s", n, historyString(h.c))
	}
}

// A stop shuts the agent down gracefully: the member leaves. While its
// instance is stopped (within stopped_grace) it keeps its place in the
// group: no top-up around it. After stopped_grace the group is topped up;
// a member that left is never terminated.
func TestStoppedMemberThatLeftKeepsItsPlaceForStoppedGrace(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.StoppedGrace = 30 * time.Minute; c.Groups[0].Min = 5 })
	h.alive(1, 4, "worker")
	id := h.member(9, "worker", membership.StatusLeft, 0, stopped, "")
	for range 5 {
		h.tick(h.c)
		h.clock.Advance(5 * time.Minute)
	}
	if n := h.ec2.mutations(); n != 0 {
		t.Fatalf("%d EC2 mutations for a member that left as its instance stopped%s", n, historyString(h.c))
	}
	if d := mustDecision(t, h.c, CodeStoppedGrace, id); !strings.Contains(d.Reason, "left when its instance was stopped") {
		t.Fatalf("reason %q", d.Reason)
	}
	h.clock.Advance(6 * time.Minute) // stopped for 31 min
	h.tick(h.c)
	mustDecision(t, h.c, CodeBelowMin, "")
	if n, term := h.ec2.createdCount(), h.ec2.count("TerminateInstances"); n != 1 || term != 0 {
		t.Fatalf("%d launched, %d TerminateInstances after stopped_grace; want a top-up of 1 and no terminate", n, term)
	}
}

// A reboot or an agent restart (an upgrade) also makes the member leave,
// while EC2 says running: it keeps its place for new_instance_grace.
func TestRestartingMemberKeepsItsPlace(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Groups[0].Min = 5 })
	h.alive(1, 4, "worker")
	id := h.member(9, "worker", membership.StatusLeft, 0, running, ok)
	h.tick(h.c)
	mustDecision(t, h.c, CodeRestarting, id)
	if n := h.ec2.mutations(); n != 0 {
		t.Fatalf("%d EC2 mutations for a restarting agent", n)
	}
	// It comes back: nothing was ever launched.
	h.view.put(membership.Member{Name: id, Status: membership.StatusAlive, Since: h.clock.Now(), Tags: map[string]string{"role": "worker"}})
	h.clock.Advance(time.Minute)
	h.tick(h.c)
	if n := h.ec2.mutations(); n != 0 {
		t.Fatalf("%d EC2 mutations", n)
	}
}

// A long stop, then a start: the instance is pending, then running and
// freshly started, long after its member left; it keeps its place until
// its agent is back (measured from the start, not from the leave).
func TestStartedAfterALongStopKeepsItsPlaceWhileItBoots(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.StoppedGrace = time.Hour; c.Groups[0].Min = 5 })
	h.alive(1, 4, "worker")
	id := h.member(9, "worker", membership.StatusLeft, 45*time.Minute, stopped, "")
	h.tick(h.c)
	mustDecision(t, h.c, CodeStoppedGrace, id)
	h.ec2.set(id, ec2types.InstanceStateNamePending, "")
	h.clock.Advance(h.cfg.Interval)
	h.tick(h.c)
	mustDecision(t, h.c, CodeRestarting, id)
	h.ec2.add(id, running, ok, h.clock.Now(), map[string]string{TagCluster: "c1", TagGroup: "workers"})
	h.clock.Advance(h.cfg.Interval)
	h.tick(h.c)
	if n := h.ec2.mutations(); n != 0 {
		t.Fatalf("%d EC2 mutations while the started instance boots%s", n, historyString(h.c))
	}
}
