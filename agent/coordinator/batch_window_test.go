package coordinator

import (
	"testing"
	"time"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/farmhand/farmhand/membership"
)

// staggeredDeaths builds a group of 16 alive plus deaths arrive spread over
// time: the first is past dead_grace now, the others reach it at the
// given offsets from now.
func staggeredDeaths(t *testing.T, window time.Duration, later ...time.Duration) *harness {
	h := newHarness(t, func(c *Config) {
		c.BatchWindow = window
		// min is the group as built, so nothing is a top-up.
		c.Groups[0].Min, c.Groups[0].Max = 17+len(later), 40
	})
	h.alive(1, 16, "worker")
	stopped := ec2types.InstanceStateNameStopped
	h.member(100, "worker", membership.StatusDead, h.cfg.DeadGrace, stopped, "")
	for i, d := range later {
		h.member(101+i, "worker", membership.StatusDead, h.cfg.DeadGrace-d, stopped, "")
	}
	return h
}

func TestBatchWindowTurnsAStaggeredBurstIntoOneLaunch(t *testing.T) {
	h := staggeredDeaths(t, 2*time.Second, 500*time.Millisecond, time.Second, 1500*time.Millisecond)
	// Tick as each death passes dead_grace: without the window, four
	// launches; with it, the first three ticks hold and the last launches
	// all four at once.
	for _, step := range []time.Duration{0, 500 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond} {
		h.clock.Advance(step)
		h.tick(h.c)
	}
	if n := h.ec2.count("RunInstances"); n != 1 {
		t.Fatalf("RunInstances calls = %d, want 1 for a burst inside the batch window\n%s", n, historyString(h.c))
	}
	if n := h.ec2.createdCount(); n != 4 {
		t.Fatalf("%d launched, want 4", n)
	}
	if len(decisions(h.c, CodeBatching)) == 0 {
		t.Fatal("no batching decision recorded: the hold must be explained")
	}
}

func TestBatchWindowNeverHoldsALoneDeath(t *testing.T) {
	h := staggeredDeaths(t, 2*time.Second)
	h.tick(h.c)
	if n := h.ec2.count("RunInstances"); n != 1 {
		t.Fatalf("RunInstances calls = %d, want 1 at once for a lone death", n)
	}
}

func TestBatchWindowIsBounded(t *testing.T) {
	// The second death reaches dead_grace 3 s from now, past the 2 s
	// window: the first is not held for it.
	h := staggeredDeaths(t, 2*time.Second, 3*time.Second)
	h.tick(h.c)
	if n := h.ec2.createdCount(); n != 1 {
		t.Fatalf("%d launched, want the first death replaced at once (the next one is outside the window)", n)
	}
	// A death inside the window holds the first, but only until the
	// window is used up.
	h2 := staggeredDeaths(t, 2*time.Second, 1500*time.Millisecond)
	h2.tick(h2.c)
	if n := h2.ec2.createdCount(); n != 0 {
		t.Fatalf("%d launched, want a hold for the death 1.5 s away", n)
	}
	h2.clock.Advance(1500 * time.Millisecond)
	h2.tick(h2.c)
	if n, calls := h2.ec2.createdCount(), h2.ec2.count("RunInstances"); n != 2 || calls != 1 {
		t.Fatalf("%d launched in %d calls, want both in one call", n, calls)
	}
}
