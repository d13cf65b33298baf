package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// The leader dies in the middle of a replacement: it is killed while its
// RunInstances call is held by EC2, which has launched the instance but not
// answered, so the leader has written the batch to the ledger and cannot
// have recorded the launch. Its successor finds the batch in the ledger and
// reissues the identical call; the ClientToken makes EC2 answer with the
// first call's instance. Exactly one instance is launched for the death.
func TestLeaderKilledMidReplacementLaunchesOnce(t *testing.T) {
	t.Parallel()
	f := startFarm(t, farmOpts{nodes: 5, hcl: fastHCL + "\nlease_ttl = \"4s\""})
	leader, st := f.leader()
	victim := f.others(leader.ID)[0]
	ec := f.tb.EC2()
	// The replacement stays pending through the failover.
	ec.SetLaunchDelay(3 * time.Second)
	before := ec.CallCount("RunInstances")
	held, release := ec.HoldRunResponse()
	defer release()

	if err := f.tb.Crash(victim); err != nil {
		t.Fatal(err)
	}
	select {
	case <-held:
	case <-time.After(healTimeout):
		t.Fatal("the leader never called RunInstances")
	}

	// Decide before you act: the batch is in the ledger before the call,
	// and the launch is not, since the call has not returned.
	var batch coordinator.Batch
	for _, b := range f.ledger().Batches {
		if slices.Equal(b.Replaces, []string{victim}) {
			batch = b
		}
	}
	if batch.ID == "" || len(batch.Launched) != 0 {
		t.Fatalf("the leader is inside RunInstances for %s; want its batch in the ledger, not yet launched: %+v", victim, f.ledger())
	}
	if err := f.tb.KillAgent(leader.ID); err != nil {
		t.Fatal(err)
	}
	release() // the answer goes to a dead process
	t.Logf("leader %s killed inside RunInstances for batch %s", leader.ID, batch.ID)

	var next string
	f.eventually(healTimeout, func(r *testutil.R) {
		l, s, err := Leader(f.ctx, f.tb)
		if err != nil {
			r.Fatalf("%v", err)
		}
		if s.Epoch <= st.Epoch {
			r.Fatalf("leader %s in epoch %d, want a successor above epoch %d", l.ID, s.Epoch, st.Epoch)
		}
		next = l.ID
	})
	var replacement string
	f.eventually(healTimeout, func(r *testutil.R) {
		reps := ReplacementsOf(ec, victim)
		if len(reps) != 1 {
			r.Fatalf("%d instances launched for %s", len(reps), victim)
		}
		if _, err := AliveEverywhere(f.ctx, f.tb, reps[0].ID); err != nil {
			r.Fatalf("%v", err)
		}
		if f.hasRecord(victim) || len(f.ledger().Batches) > 0 {
			r.Fatalf("the successor has not finished the batch (record pruned: %v, ledger batches %d)", !f.hasRecord(victim), len(f.ledger().Batches))
		}
		replacement = reps[0].ID
	})
	// The killed leader's machine is healthy (silent agent): never replaced,
	// so EC2 holds the five originals and the one replacement, for good.
	f.consistently(3*time.Second, func() error {
		if n := len(ReplacementsOf(ec, victim)); n != 1 {
			return fmt.Errorf("%d instances launched for %s", n, victim)
		}
		if n := f.launchedInstances(); n != 6 {
			return fmt.Errorf("EC2 holds %d instances, want 6", n)
		}
		return nil
	})
	if d, ok := findDecision(f.history(next), coordinator.ActionReport, coordinator.CodeSilent, leader.ID); !ok {
		t.Errorf("successor %s did not report the killed leader %s as silent", next, leader.ID)
	} else {
		t.Logf("successor on the old leader: %s", d.Reason)
	}

	// The successor reissued the call and adopted the same instance.
	calls := ec.CallCount("RunInstances") - before
	if calls != 2 {
		t.Errorf("RunInstances called %d times, want 2 (the interrupted call and the successor's reissue)", calls)
	}
	launch, adopted := findDecision(f.history(next), coordinator.ActionLaunch, coordinator.CodeOK, "")
	if !adopted || launch.Batch != batch.ID || !slices.Equal(launch.Instances, []string{replacement}) {
		t.Errorf("successor's launch decision %+v (found %v), want batch %s adopting %s", launch, adopted, batch.ID, replacement)
	}
	t.Logf("successor %s, RunInstances calls %d, replacement %s", next, calls, replacement)
}
