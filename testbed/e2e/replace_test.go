package e2e

import (
	"testing"
	"time"

	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/testbed/ec2emu"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// replaceRuns is how many crashes TestCrashOneOfFive heals in a row; the
// freeze gate allows four before the reaped-not-yet dead add up.
const replaceRuns = 3

// Crash 1 of 5, several times in a row: each crash gets exactly one
// replacement, tagged with the crashed id, which joins every member's
// view; the crashed instance is terminated and its registry record pruned.
// The timing of each heal is logged with the median.
func TestCrashOneOfFiveIsReplacedOnce(t *testing.T) {
	t.Parallel()
	f := startFarm(t, farmOpts{nodes: 5})
	leader, _ := f.leader()
	var originals []string
	for _, in := range f.tb.EC2().Instances() {
		originals = append(originals, in.ID)
	}

	var runs []ReplacementTiming
	for run := range replaceRuns {
		victim := f.others(leader.ID)[0]
		if !f.hasRecord(victim) {
			t.Fatalf("run %d: the victim %s has no registry record before the crash", run, victim)
		}
		timing, err := MeasureReplacement(f.ctx, f.tb, victim, healTimeout)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		t.Logf("run %d: %s replaced by %s (leader %s): %s", run, victim, timing.Replacement, timing.Leader, timing)
		runs = append(runs, timing)

		rep, _ := f.tb.EC2().Instance(timing.Replacement)
		want := map[string]string{coordinator.TagCluster: f.tb.State().Cluster, coordinator.TagGroup: "worker", coordinator.TagReplaces: victim}
		for k, v := range want {
			if rep.Tags[k] != v {
				t.Errorf("run %d: replacement %s has tag %s=%q, want %q", run, rep.ID, k, rep.Tags[k], v)
			}
		}
		// The batch finishes: the old record is pruned and the ledger has
		// no unfinished batch; the crashed machine was terminated.
		f.eventually(healTimeout, func(r *testutil.R) {
			if f.hasRecord(victim) {
				r.Fatalf("registry record of %s not pruned", victim)
			}
			if l := f.ledger(); len(l.Batches) > 0 {
				r.Fatalf("ledger still has %d batch(es): %+v", len(l.Batches), l.Batches)
			}
		})
		if !f.hasRecord(timing.Replacement) {
			t.Errorf("run %d: the replacement %s has no registry record", run, timing.Replacement)
		}
		if old, ok := f.tb.EC2().Instance(victim); !ok || old.State != ec2emu.StateTerminated {
			t.Errorf("run %d: crashed instance %s is %q in EC2, want terminated", run, victim, old.State)
		}
		if _, ok := findDecision(f.history(timing.Leader), coordinator.ActionPrune, coordinator.CodeOK, victim); !ok {
			t.Errorf("run %d: leader %s recorded no prune decision for %s", run, timing.Leader, victim)
		}
		// Exactly one launch per crash, no top-up: a few more ticks change
		// nothing.
		f.consistently(3*time.Second, func() error {
			if n := len(ReplacementsOf(f.tb.EC2(), victim)); n != 1 {
				t.Fatalf("run %d: %s has %d replacements, want 1", run, victim, n)
			}
			if n := f.launchedInstances(); n != len(originals)+run+1 {
				t.Fatalf("run %d: EC2 holds %d instances, want %d (the %d originals and one per crash)", run, n, len(originals)+run+1, len(originals))
			}
			return nil
		})
	}
	t.Logf("median of %d heals on 5 nodes (dead_grace %s, interval 1s, gossip profile local): %s", len(runs), deadGrace, MedianTiming(runs))
}
