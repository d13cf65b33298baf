package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/farmhand/farmhand/testbed/testutil"
)

// EC2 throttles every call (RequestLimitExceeded) while a node crashes:
// nothing can be launched, and the coordinator keeps retrying. Once the
// throttling stops, the node is replaced, exactly once.
func TestThrottledEC2ReplacesOnceThrottlingStops(t *testing.T) {
	t.Parallel()
	f := startFarm(t, farmOpts{nodes: 5})
	leader, _ := f.leader()
	victim := f.others(leader.ID)[0]
	ec := f.tb.EC2()
	f.tb.SetEC2Throttle(true)
	throttled := ec.Errors()["RequestLimitExceeded"]
	if err := f.tb.Crash(victim); err != nil {
		t.Fatal(err)
	}
	f.waitDeadFor(leader.ID, 2*deadGrace, victim)
	f.eventually(healTimeout, func(r *testutil.R) {
		if n := ec.Errors()["RequestLimitExceeded"] - throttled; n < 5 {
			r.Fatalf("%d throttled EC2 calls so far", n)
		}
	})
	if n := f.launchedInstances(); n != 5 {
		t.Fatalf("EC2 holds %d instances while throttled, want the 5 originals", n)
	}

	f.tb.SetEC2Throttle(false)
	off := time.Now()
	var replacement string
	f.eventually(healTimeout, func(r *testutil.R) {
		reps := ReplacementsOf(ec, victim)
		if len(reps) != 1 {
			r.Fatalf("%d instances launched for %s", len(reps), victim)
		}
		if _, err := AliveEverywhere(f.ctx, f.tb, reps[0].ID); err != nil {
			r.Fatalf("%v", err)
		}
		replacement = reps[0].ID
	})
	rep, _ := ec.Instance(replacement)
	t.Logf("%d throttled EC2 calls; replacement %s launched %s after throttling stopped",
		ec.Errors()["RequestLimitExceeded"]-throttled, replacement, rep.LaunchTime.Sub(off).Round(time.Millisecond))
	f.eventually(healTimeout, func(r *testutil.R) {
		if l := f.ledger(); len(l.Batches) > 0 {
			r.Fatalf("ledger still has %d batch(es)", len(l.Batches))
		}
	})
	f.consistently(3*time.Second, func() error {
		if n := len(ReplacementsOf(ec, victim)); n != 1 {
			return fmt.Errorf("%d instances launched for %s", n, victim)
		}
		if n := f.launchedInstances(); n != 6 {
			return fmt.Errorf("EC2 holds %d instances, want 6", n)
		}
		return nil
	})
}
