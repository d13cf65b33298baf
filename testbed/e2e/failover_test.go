package e2e

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// The leader dies in the middle of a replacement: it is frozen the moment
// its RunInstances call reaches EC2, before it can record the launched
// instance in the ledger, then SIGKILLed. Its successor finds the batch in
// the ledger and reissues the identical call; the ClientToken makes EC2
// answer with the first call's instance. Exactly one instance is launched
// for the death.
func TestLeaderKilledMidReplacementLaunchesOnce(t *testing.T) {
	t.Parallel()
	f := startFarm(t, farmOpts{nodes: 5, hcl: fastHCL + "\nlease_ttl = \"4s\""})
	leader, st := f.leader()
	victim := f.others(leader.ID)[0]
	ec := f.tb.EC2()
	// The replacement stays pending through the failover.
	ec.SetLaunchDelay(3 * time.Second)
	before := ec.CallCount("RunInstances")

	paused := make(chan error, 1)
	go func() {
		tick := time.NewTicker(200 * time.Microsecond)
		defer tick.Stop()
		deadline := time.Now().Add(healTimeout)
		for ec.CallCount("RunInstances") == before {
			if time.Now().After(deadline) {
				paused <- errors.New("the leader never called RunInstances")
				return
			}
			<-tick.C
		}
		paused <- f.tb.Pause(leader.ID)
	}()
	if err := f.tb.Crash(victim); err != nil {
		t.Fatal(err)
	}
	if err := <-paused; err != nil {
		t.Fatal(err)
	}

	// Decide before you act: the batch is in the ledger before the call.
	var batch coordinator.Batch
	for _, b := range f.ledger().Batches {
		if slices.Equal(b.Replaces, []string{victim}) {
			batch = b
		}
	}
	if batch.ID == "" {
		t.Fatalf("the leader called RunInstances for %s without a batch in the ledger: %+v", victim, f.ledger())
	}
	midCall := len(batch.Launched) == 0
	t.Logf("leader %s frozen with batch %s launched=%v (mid-call: %v)", leader.ID, batch.ID, batch.Launched, midCall)
	if err := f.tb.KillAgent(leader.ID); err != nil {
		t.Fatal(err)
	}

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

	calls := ec.CallCount("RunInstances") - before
	launch, adopted := findDecision(f.history(next), coordinator.ActionLaunch, coordinator.CodeOK, "")
	switch {
	case midCall:
		// The successor reissued the call and adopted the same instance.
		if calls != 2 {
			t.Errorf("RunInstances called %d times, want 2 (the interrupted call and the successor's reissue)", calls)
		}
		if !adopted || launch.Batch != batch.ID || !slices.Equal(launch.Instances, []string{replacement}) {
			t.Errorf("successor's launch decision %+v (found %v), want batch %s adopting %s", launch, adopted, batch.ID, replacement)
		}
	default:
		// The leader recorded the launch before it froze: nothing to reissue.
		t.Logf("the leader recorded the launch before it was frozen; the successor had nothing to reissue")
		if calls != 1 || adopted {
			t.Errorf("RunInstances called %d times, successor launch decision found %v; want 1 and none", calls, adopted)
		}
	}
	t.Logf("successor %s, RunInstances calls %d, replacement %s", next, calls, replacement)
}
