package coordinator

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// Every EC2 mutation runs under a context whose deadline is the end of
// the leader's acting window (its last renewal + lease_ttl - lease_margin),
// so no request, first or retried by the SDK, leaves after the window.
func TestEC2MutationsEndWithTheActingWindow(t *testing.T) {
	h := newHarness(t, nil)
	h.alive(1, 4, "worker")
	h.dead(9, "worker", stopped, "") // still exists: terminated, then replaced
	h.tick(h.c)
	until := h.c.Status().Lease.ActUntil
	if until.IsZero() {
		t.Fatal("not leader")
	}
	ms := h.ec2.mutationsSeen()
	if len(ms) != 2 || ms[0].op != "TerminateInstances" || ms[1].op != "RunInstances" {
		t.Fatalf("mutations %+v, want TerminateInstances then RunInstances", ms)
	}
	for _, m := range ms {
		if !m.hasDeadline || !m.deadline.Equal(until) {
			t.Errorf("%s: context deadline %v (set: %v), want the acting window's end %v", m.op, m.deadline, m.hasDeadline, until)
		}
	}
	// Ending a call's context is not the window closing: both calls are
	// recorded as done, and nothing says the lease ran out.
	if d := decisions(h.c, CodeNotLeader); len(d) != 0 {
		t.Fatalf("not_leader decisions %+v inside the window", d)
	}
	if n := h.ec2.createdCount(); n != 1 || len(slices.DeleteFunc(h.c.History(0), func(d Decision) bool { return d.Action != ActionTerminate })) != 1 {
		t.Fatalf("%d launched, want 1 after one terminate decision:%s", n, historyString(h.c))
	}
}

// A RunInstances call still hanging when the acting window closes is
// abandoned there, and the leader stops acting: no launch_failed (which
// would let it go on to the next subnet or batch), no further call. The
// batch stays in the ledger for whoever leads next, with its ClientToken.
func TestWindowClosingMidCallStopsTheLeader(t *testing.T) {
	h := newHarness(t, nil)
	h.alive(1, 4, "worker")
	id := h.dead(9, "worker", terminated, "")
	h.ec2.beforeRun = func(ctx context.Context, _ *ec2.RunInstancesInput) error {
		h.clock.Advance(h.cfg.LeaseTTL) // the call hangs past the window
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Second):
			return errors.New("the call's context did not end with the acting window")
		}
	}
	h.tick(h.c)
	if n := h.ec2.count("RunInstances"); n != 1 {
		t.Fatalf("RunInstances calls = %d, want 1: the leader must stop once its window has closed", n)
	}
	if d := decisions(h.c, CodeLaunchFailed); len(d) != 0 {
		t.Fatalf("recorded %+v; want the leader to stop, not to record a failure and go on", d)
	}
	mustDecision(t, h.c, CodeNotLeader, "")
	led := h.c.led.snapshot()
	if b := led.Batches; len(b) != 1 || !b[0].pending() || b[0].Replaces[0] != id {
		t.Fatalf("ledger batches %+v, want the pending batch for %s", b, id)
	}
}
