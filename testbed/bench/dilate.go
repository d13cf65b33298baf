package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/farmhand/farmhand/bootstrap/awscall"
	"github.com/farmhand/farmhand/membership"
	"github.com/hashicorp/memberlist"
)

// Time dilation (DieCast, Gupta et al., NSDI 2008). Two cores cannot run
// 1,000 members at real speed: their probes, gossip and push/pulls need
// more CPU per second than the machine has, and the discard rule (run.go)
// throws such runs away. With a dilation factor k every timer of the
// protocol and of the harness is k times longer, so the members do the
// same work per protocol second in k wall seconds, and every duration the
// harness measures is divided by k before it is reported. What does not
// dilate is compute: a push/pull that takes 2 ms of CPU takes 2 ms of wall
// time at any k, which is 2/k ms of protocol time. Dilation therefore
// measures the protocol on a machine k times faster than this one, with
// the same zero-latency network (memnet adds no delay, so there is no
// network latency to scale); quantities bound by timers (detection,
// gossip rounds, join syncs) keep their value, quantities bound by compute
// (a joiner merging its first push/pull) shrink. The validation run at
// N=200 (k=1 against k>1) shows which is which.
//
// The scaling lives in this file alone: dilateMemberlist and
// dilateMembership for the two implementations' configs, dilateBackoff for
// the registry's and boot's retry pacing, plan.dilated for the harness's
// windows and timeouts, and dilation.wall for the harness's few fixed
// pauses. dilate_test.go fails when either config gains a time.Duration
// field this file does not scale.

// dilation is the time-dilation factor k; 0 and 1 both mean real time.
type dilation float64

// realTime is no dilation.
const realTime dilation = 1

// factor returns k, 1 for the zero value.
func (k dilation) factor() float64 {
	if k <= 0 {
		return 1
	}
	return float64(k)
}

// dilated reports whether k slows time down at all.
func (k dilation) dilated() bool { return k.factor() != 1 }

// wall converts a protocol duration into the wall time it lasts under k.
func (k dilation) wall(d time.Duration) time.Duration {
	return time.Duration(float64(d) * k.factor())
}

// proto converts a measured wall duration into protocol time.
func (k dilation) proto(d time.Duration) time.Duration {
	return time.Duration(float64(d) / k.factor())
}

// String is "k=4", or "real time".
func (k dilation) String() string {
	if !k.dilated() {
		return "real time"
	}
	return "k=" + strconv.FormatFloat(k.factor(), 'g', -1, 64)
}

// parseDilation parses a dilation factor: a number from 1 to 1000.
func parseDilation(s string) (dilation, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 1 || v > 1000 {
		return 0, fmt.Errorf("dilation factor %q: k must be a number from 1 to 1000", s)
	}
	return dilation(v), nil
}

// stretch multiplies each duration by k in place.
func (k dilation) stretch(ds ...*time.Duration) {
	for _, d := range ds {
		*d = k.wall(*d)
	}
}

// dilateMemberlist multiplies every timer of a memberlist config by k in
// place. Multipliers of timers (SuspicionMult, SuspicionMaxTimeoutMult,
// RetransmitMult, AwarenessMaxMultiplier) are ratios and stay.
func dilateMemberlist(c *memberlist.Config, k dilation) {
	k.stretch(&c.TCPTimeout, &c.PushPullInterval, &c.ProbeInterval, &c.ProbeTimeout,
		&c.GossipInterval, &c.GossipToTheDeadTime, &c.DeadNodeReclaimTime, &c.QueueCheckInterval)
}

// dilateMembership multiplies every timer of a membership config, and of
// the memberlist config under it, by k in place. (Its suspect expiry and
// join attempt timeouts derive from memberlist's timers and follow them.)
func dilateMembership(c *membership.Config, k dilation) {
	k.stretch(&c.ReapTime, &c.ReconnectInterval, &c.ReconnectTimeout, &c.IsolationCheckInterval,
		&c.IsolationBackoffMax, &c.JoinSyncDelay, &c.BroadcastTimeout)
	if c.Memberlist != nil {
		dilateMemberlist(c.Memberlist, k)
	}
}

// dilateBackoff returns a retry policy k times slower.
func dilateBackoff(b awscall.Backoff, k dilation) awscall.Backoff {
	k.stretch(&b.Base, &b.Max)
	return b
}

// dilated returns p with every window and timeout k times longer, for
// running; the plan itself stays in protocol time for the report.
func (p plan) dilated(k dilation) plan {
	k.stretch(&p.Spread, &p.Settle, &p.Rest, &p.LossWindow, &p.StallWindow, &p.StallFor, &p.StallEvery,
		&p.ConvergeTimeout, &p.DetectTimeout)
	return p
}
