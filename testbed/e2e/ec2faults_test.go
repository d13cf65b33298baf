package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/testbed/ec2emu"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// InsufficientInstanceCapacity in the zone of the group's first subnet:
// the replacement launches in the second subnet, in another zone. With no capacity in either subnet,
// nothing launches, and once capacity is back the death is replaced
// exactly once although every attempt used a new ClientToken.
func TestCapacityErrorLaunchesInNextSubnet(t *testing.T) {
	t.Parallel()
	subnets := ec2emu.DefaultConfig().Subnets
	first, second := subnets[0].ID, subnets[1].ID
	f := startFarm(t, farmOpts{nodes: 5, groupHCL: fmt.Sprintf("subnets = [%q, %q]", first, second)})
	leader, _ := f.leader()
	ec := f.tb.EC2()

	// No capacity in the first subnet's zone (capacity runs out per zone).
	ec.SetCapacityError(subnets[0].AvailabilityZone, true)
	victim := f.others(leader.ID)[0]
	if err := f.tb.Crash(victim); err != nil {
		t.Fatal(err)
	}
	rep := f.waitReplacedOnce(victim)
	if rep.SubnetID != second || rep.AvailabilityZone != subnets[1].AvailabilityZone {
		t.Errorf("replacement %s launched in %s (%s), want the group's second subnet %s (%s)",
			rep.ID, rep.SubnetID, rep.AvailabilityZone, second, subnets[1].AvailabilityZone)
	}
	// One refusal: the first subnet was tried, and not retried by the SDK
	// (EC2 sends the error as HTTP 500; see awscall.EC2Retryer).
	if n := ec.Errors()["InsufficientInstanceCapacity"]; n != 1 {
		t.Errorf("EC2 sent %d InsufficientInstanceCapacity answers before the launch in the second subnet, want 1", n)
	}
	f.wantDecision(coordinator.ActionReport, coordinator.CodeCapacity)

	// No capacity anywhere: attempts move through both subnets, nothing
	// launches.
	ec.SetCapacityError(second, true)
	refused := ec.Errors()["InsufficientInstanceCapacity"]
	victim2 := f.others(leader.ID, rep.ID)[0]
	if err := f.tb.Crash(victim2); err != nil {
		t.Fatal(err)
	}
	f.eventually(healTimeout, func(r *testutil.R) {
		for _, b := range f.ledger().Batches {
			if len(b.Replaces) == 1 && b.Replaces[0] == victim2 && b.Attempt >= 2 {
				if n := ec.Errors()["InsufficientInstanceCapacity"] - refused; n < 2 {
					r.Fatalf("%d InsufficientInstanceCapacity answers, want both subnets refused", n)
				}
				return
			}
		}
		r.Fatalf("no batch for %s has tried both subnets yet", victim2)
	})
	if reps := ReplacementsOf(ec, victim2); len(reps) != 0 {
		t.Fatalf("%d instance(s) launched for %s while no subnet had capacity", len(reps), victim2)
	}

	ec.SetCapacityError(subnets[0].AvailabilityZone, false)
	ec.SetCapacityError(second, false)
	f.waitReplacedOnce(victim2)
	f.launchedOncePerDeath(5, victim, victim2)
}

// The EC2 API is unreachable (connection refused), then answers only 500
// InternalError, while a node dies: no agent crashes, nothing is launched,
// and once EC2 is back the node is replaced exactly once.
func TestEC2DownDuringDeathReplacesOnceBack(t *testing.T) {
	t.Parallel()
	f := startFarm(t, farmOpts{nodes: 5})
	leader, _ := f.leader()
	ec := f.tb.EC2()
	victim := f.others(leader.ID)[0]

	if err := ec.SetDown(true); err != nil {
		t.Fatal(err)
	}
	if err := f.tb.Crash(victim); err != nil {
		t.Fatal(err)
	}
	f.waitDeadFor(leader.ID, 2*deadGrace, victim)
	f.eventually(healTimeout, func(r *testutil.R) {
		l, _ := f.leader()
		if _, ok := findDecision(f.history(l.ID), coordinator.ActionError, coordinator.CodeEC2Unavailable, ""); !ok {
			r.Fatalf("leader %s has not recorded EC2 as %s", l.ID, coordinator.CodeEC2Unavailable)
		}
	})

	if err := ec.SetDown(false); err != nil {
		t.Fatal(err)
	}
	ec.SetInternalError(true)
	before := ec.Errors()["InternalError"]
	f.eventually(healTimeout, func(r *testutil.R) {
		if n := ec.Errors()["InternalError"] - before; n < 5 {
			r.Fatalf("%d InternalError answers so far", n)
		}
	})
	if n := f.launchedInstances(); n != 5 {
		t.Fatalf("EC2 holds %d instances while failing, want the 5 originals", n)
	}
	if running := Running(f.tb); len(running) != 4 {
		t.Fatalf("%d agents run during the EC2 outage, want the 4 survivors", len(running))
	}

	ec.SetInternalError(false)
	f.waitReplacedOnce(victim)
	f.launchedOncePerDeath(5, victim)
	if running := Running(f.tb); len(running) != 5 {
		t.Errorf("%d agents run after the outage, want 5 (4 survivors and the replacement)", len(running))
	}
}

// A partial launch: RunInstances launches the replacement but its answer
// is lost, more times in a row than the SDK retries, so the coordinator
// records a failed launch. Its retry with the same ClientToken adopts the
// instance already launched instead of launching another.
func TestLostRunInstancesAnswerAdoptsTheLaunch(t *testing.T) {
	t.Parallel()
	f := startFarm(t, farmOpts{nodes: 5})
	leader, _ := f.leader()
	ec := f.tb.EC2()
	const lost = 4 // one more than the SDK's three attempts
	ec.LoseRunResponses(lost)
	before := ec.Errors()["InternalError"]
	victim := f.others(leader.ID)[0]
	if err := f.tb.Crash(victim); err != nil {
		t.Fatal(err)
	}
	// The replacement may join before the coordinator learns that it was
	// launched: wait for the ledger to adopt it.
	rep := f.waitReplacedOnce(victim)
	f.eventually(healTimeout, func(r *testutil.R) {
		for _, d := range f.ledger().Decisions {
			if d.Action == coordinator.ActionLaunch && d.Code == coordinator.CodeOK && len(d.Instances) == 1 && d.Instances[0] == rep.ID {
				return
			}
		}
		r.Fatalf("the ledger records no launch of %s", rep.ID)
	})
	if n := ec.Errors()["InternalError"] - before; n != lost {
		t.Errorf("%d RunInstances answers lost, want %d", n, lost)
	}
	f.wantDecision(coordinator.ActionError, coordinator.CodeLaunchFailed)
	f.launchedOncePerDeath(5, victim)
}

// waitReplacedOnce waits until victim's replacement is alive in every
// running agent's view, failing if victim is ever replaced more than once,
// and returns the replacement.
func (f *farm) waitReplacedOnce(victim string) ec2emu.Instance {
	f.t.Helper()
	var rep ec2emu.Instance
	f.eventually(healTimeout, func(r *testutil.R) {
		reps := ReplacementsOf(f.tb.EC2(), victim)
		switch {
		case len(reps) > 1:
			f.t.Fatalf("%s replaced %d times", victim, len(reps))
		case len(reps) == 0:
			r.Fatalf("no instance launched for %s", victim)
		}
		if _, err := AliveEverywhere(f.ctx, f.tb, reps[0].ID); err != nil {
			r.Fatalf("%v", err)
		}
		rep = reps[0]
	})
	return rep
}

// launchedOncePerDeath waits until the ledger has no unfinished batch, then
// checks for a few ticks that each victim has exactly one replacement and
// EC2 holds nothing else: originals plus one instance per victim.
func (f *farm) launchedOncePerDeath(originals int, victims ...string) {
	f.t.Helper()
	f.eventually(healTimeout, func(r *testutil.R) {
		if l := f.ledger(); len(l.Batches) > 0 {
			r.Fatalf("ledger still has %d batch(es)", len(l.Batches))
		}
	})
	want := originals + len(victims)
	f.consistently(3*time.Second, func() error {
		for _, v := range victims {
			if n := len(ReplacementsOf(f.tb.EC2(), v)); n != 1 {
				return fmt.Errorf("%d instances launched for %s, want 1", n, v)
			}
		}
		if n := f.launchedInstances(); n != want {
			return fmt.Errorf("EC2 holds %d instances, want %d", n, want)
		}
		return nil
	})
}

// wantDecision fails unless some running coordinator recorded a decision
// with action and code.
func (f *farm) wantDecision(action coordinator.Action, code string) {
	f.t.Helper()
	for _, in := range Running(f.tb) {
		if _, ok := findDecision(f.history(in.ID), action, code, ""); ok {
			return
		}
	}
	f.t.Errorf("no coordinator recorded a %s decision with code %s", action, code)
}
