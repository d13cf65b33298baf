package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"

	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed"
	"github.com/farmhand/farmhand/testbed/ec2emu"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// records lists the registry keys of id (nodes/<id>/<az>/<ip>:<port>).
func (f *farm) records(id string) []string {
	f.t.Helper()
	prefix := f.s3Key("nodes/" + id + "/")
	list, err := f.tb.S3().Backend().ListBucket(f.tb.State().S3.Bucket, &gofakes3.Prefix{HasPrefix: true, Prefix: prefix}, gofakes3.ListBucketPage{})
	if err != nil {
		f.t.Fatalf("S3 listing %s: %v", prefix, err)
	}
	var keys []string
	for _, c := range list.Contents {
		keys = append(keys, c.Key)
	}
	return keys
}

// noMutations fails when RunInstances or TerminateInstances was called
// since the counts runs and terms.
func (f *farm) noMutations(runs, terms int, what string) func() error {
	return func() error {
		if n := f.tb.EC2().CallCount("RunInstances"); n != runs {
			return fmt.Errorf("RunInstances called %d times %s", n-runs, what)
		}
		if n := f.tb.EC2().CallCount("TerminateInstances"); n != terms {
			return fmt.Errorf("TerminateInstances called %d times %s", n-terms, what)
		}
		return nil
	}
}

// Stop and start with the coordinator on (issue 13): the stopped instance
// keeps its place (the leader records why it waits, stopped_grace), nothing
// is launched or terminated, and start-instances brings the same id and
// address back into every view, under the same registry record.
func TestStopStartWithTheCoordinatorOn(t *testing.T) {
	t.Parallel()
	f := startFarm(t, farmOpts{nodes: 3})
	leader, _ := f.leader()
	runs, terms := f.tb.EC2().CallCount("RunInstances"), f.tb.EC2().CallCount("TerminateInstances")
	victim := f.others(leader.ID)[0]
	before := f.instance(victim)
	recordsBefore := f.records(victim)
	if len(recordsBefore) != 1 {
		t.Fatalf("registry records of %s before the stop: %v, want one", victim, recordsBefore)
	}
	if err := f.tb.Stop(f.ctx, victim); err != nil {
		t.Fatal(err)
	}

	var wait coordinator.Decision
	f.eventually(healTimeout, func(r *testutil.R) {
		d, ok := findDecision(f.history(leader.ID), coordinator.ActionSkip, coordinator.CodeStoppedGrace, victim)
		if !ok {
			r.Fatalf("leader %s has not recorded why the stopped %s waits", leader.ID, victim)
		}
		wait = d
	})
	t.Logf("coordinator status says: %s", wait.Reason)
	if !strings.Contains(wait.Reason, "stopped_grace 1h0m0s") {
		t.Errorf("reason %q does not name stopped_grace", wait.Reason)
	}
	st, err := f.client(leader.ID).CoordinatorStatus(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := findDecision(st.LastDecisions, coordinator.ActionSkip, coordinator.CodeStoppedGrace, victim); !ok {
		t.Errorf("coordinator status last_decisions %+v: no stopped_grace decision for %s", st.LastDecisions, victim)
	}
	f.eventually(healTimeout, func(r *testutil.R) {
		if _, ok := findDecision(f.ledger().Decisions, coordinator.ActionSkip, coordinator.CodeStoppedGrace, victim); !ok {
			r.Fatalf("the S3 ledger has no stopped_grace decision for %s", victim)
		}
	})
	// Several dead_grace and rounds: nothing launched, nothing terminated.
	f.consistently(quiet, f.noMutations(runs, terms, "while an instance is stopped"))

	if err := f.tb.Start(f.ctx, victim); err != nil {
		t.Fatal(err)
	}
	f.eventually(formTimeout, func(r *testutil.R) {
		if err := AllSeeAlive(f.ctx, f.tb, 3); err != nil {
			r.Fatalf("after start: %v", err)
		}
	})
	for _, in := range Running(f.tb) {
		m, err := f.member(in.ID, victim)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != membership.StatusAlive || m.Addr != before.IP {
			t.Errorf("%s sees %s %s at %s, want alive at %s", in.ID, victim, m.Status, m.Addr, before.IP)
		}
	}
	f.eventually(healTimeout, func(r *testutil.R) {
		if got := f.records(victim); !slices.Equal(got, recordsBefore) {
			r.Fatalf("registry records of %s after the start: %v, want the same one as before %v", victim, got, recordsBefore)
		}
	})
	f.consistently(quiet/2, f.noMutations(runs, terms, "after the start"))
	if n := f.launchedInstances(); n != 3 {
		t.Errorf("EC2 holds %d instances, want the 3 originals", n)
	}
}

// An Auto Scaling group's instance dies while the coordinator runs: the
// group owns it, so the leader records asg_owned and neither terminates
// nor replaces it.
func TestAutoScalingInstanceDyingIsLeftToItsGroup(t *testing.T) {
	t.Parallel()
	f := startFarm(t, farmOpts{nodes: 3})
	ids, err := f.tb.LaunchWith(f.ctx, testbed.LaunchOptions{Count: 1, ASG: "farm-asg"})
	if err != nil {
		t.Fatal(err)
	}
	victim := ids[0]
	f.eventually(formTimeout, func(r *testutil.R) {
		if err := AllSeeAlive(f.ctx, f.tb, 4); err != nil {
			r.Fatalf("%v", err)
		}
		if in, _ := f.tb.EC2().Instance(victim); in.Tags[coordinator.TagASGroup] != "farm-asg" {
			r.Fatalf("instance %s tags %v: no Auto Scaling group", victim, in.Tags)
		}
	})
	leader, _ := f.leader()
	runs, terms := f.tb.EC2().CallCount("RunInstances"), f.tb.EC2().CallCount("TerminateInstances")
	if err := f.tb.Crash(victim); err != nil {
		t.Fatal(err)
	}
	var skip coordinator.Decision
	f.eventually(healTimeout, func(r *testutil.R) {
		d, ok := findDecision(f.history(leader.ID), coordinator.ActionSkip, coordinator.CodeASGOwned, victim)
		if !ok {
			r.Fatalf("leader %s has not recorded %s as owned by its Auto Scaling group", leader.ID, victim)
		}
		skip = d
	})
	if skip.Evidence == nil || skip.Evidence.ASGroup != "farm-asg" || skip.Evidence.EC2Status != "impaired" {
		t.Errorf("asg_owned evidence %+v, want the group and the impaired status", skip.Evidence)
	}
	f.waitDeadFor(leader.ID, deadGrace, victim)
	f.consistently(quiet, f.noMutations(runs, terms, "for an Auto Scaling group's instance"))
	if in, ok := f.tb.EC2().Instance(victim); !ok || in.State != ec2emu.StateRunning {
		t.Errorf("the group's instance %s is %q in EC2, want left running (impaired) to its group", victim, in.State)
	}
}

// A brand-new cluster grows from one seed instance to min 3, and no
// further: the seed's leader counts its quorum against what exists until
// the cluster has formed.
func TestOneSeedGrowsToMin(t *testing.T) {
	t.Parallel()
	// The farm forms at 3: the seed and the 2 its coordinator launches.
	f := startFarm(t, farmOpts{nodes: 1, formAt: 3, groupHCL: "min = 3\nmax = 6"})
	seed := f.tb.State().Instances[0].ID
	if _, ok := findDecision(f.history(seed), coordinator.ActionTopUp, coordinator.CodeBelowMin, ""); !ok {
		t.Errorf("the seed %s recorded no top-up", seed)
	}
	if _, ok := findDecision(f.history(seed), coordinator.ActionReport, coordinator.CodeBootstrap, ""); !ok {
		t.Errorf("the seed %s recorded no bootstrap quorum", seed)
	}
	f.eventually(healTimeout, func(r *testutil.R) {
		st, err := f.client(seed).CoordinatorStatus(f.ctx)
		if err != nil || st.Formed.IsZero() {
			r.Fatalf("cluster not formed in %s's status (err %v)", seed, err)
		}
	})
	f.consistently(quiet, func() error {
		if n := f.launchedInstances(); n != 3 {
			return fmt.Errorf("EC2 holds %d instances, want 3 (the seed and 2 launched)", n)
		}
		return nil
	})
}
