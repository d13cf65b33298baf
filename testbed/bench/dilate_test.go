package main

import (
	"reflect"
	"testing"
	"time"

	"github.com/farmhand/farmhand/bootstrap/awscall"
	"github.com/farmhand/farmhand/membership"
	"github.com/hashicorp/memberlist"
)

var durationType = reflect.TypeFor[time.Duration]()

// fillDurations sets every time.Duration field of the struct v points to
// to a distinct value and returns the values by field name.
func fillDurations(t *testing.T, v any) map[string]time.Duration {
	t.Helper()
	rv := reflect.ValueOf(v).Elem()
	set := map[string]time.Duration{}
	for i := 0; i < rv.NumField(); i++ {
		f := rv.Type().Field(i)
		if f.Type != durationType {
			continue
		}
		d := time.Duration(i+1) * 7 * time.Millisecond
		rv.Field(i).SetInt(int64(d))
		set[f.Name] = d
	}
	if len(set) == 0 {
		t.Fatalf("%T has no time.Duration field: the test is looking at the wrong type", v)
	}
	return set
}

// checkDilated fails for every time.Duration field of the struct v points
// to that is not k times its value in set.
func checkDilated(t *testing.T, v any, set map[string]time.Duration, k dilation) {
	t.Helper()
	rv := reflect.ValueOf(v).Elem()
	for name, was := range set {
		got := time.Duration(rv.FieldByName(name).Int())
		if want := k.wall(was); got != want {
			t.Errorf("%T.%s = %s after dilating %s by %s, want %s: scale it in dilate.go", v, name, got, was, k, want)
		}
	}
}

// TestDilationScalesEveryTimer fails when memberlist.Config,
// membership.Config, awscall.Backoff or the plan gains a
// time.Duration field that dilate.go does not scale.
func TestDilationScalesEveryTimer(t *testing.T) {
	const k dilation = 3

	ml := &memberlist.Config{}
	mlSet := fillDurations(t, ml)
	dilateMemberlist(ml, k)
	checkDilated(t, ml, mlSet, k)

	inner := &memberlist.Config{}
	innerSet := fillDurations(t, inner)
	mc := &membership.Config{Memberlist: inner}
	mcSet := fillDurations(t, mc)
	dilateMembership(mc, k)
	checkDilated(t, mc, mcSet, k)
	checkDilated(t, inner, innerSet, k)

	bo := &awscall.Backoff{}
	boSet := fillDurations(t, bo)
	*bo = dilateBackoff(*bo, k)
	checkDilated(t, bo, boSet, k)

	p := &plan{LateJoins: 5, Crashes: 3, Loss: 0.05}
	pSet := fillDurations(t, p)
	orig := *p
	*p = p.dilated(k)
	checkDilated(t, p, pSet, k)
	if p.LateJoins != 5 || p.Crashes != 3 || p.Loss != 0.05 {
		t.Errorf("plan.dilated changed counts: %+v", *p)
	}
	if orig.Spread != pSet["Spread"] {
		t.Error("plan.dilated changed the plan it was called on")
	}
}

// TestDilationKeepsMultipliers checks that dilation leaves the timer
// ratios (suspicion multipliers, fan-outs) alone and that real time is the
// identity.
func TestDilationKeepsMultipliers(t *testing.T) {
	c := membership.DefaultLANConfig()
	want := *c.Memberlist
	dilateMembership(c, 8)
	ml := c.Memberlist
	if ml.SuspicionMult != want.SuspicionMult || ml.SuspicionMaxTimeoutMult != want.SuspicionMaxTimeoutMult ||
		ml.RetransmitMult != want.RetransmitMult || ml.GossipNodes != want.GossipNodes || ml.AwarenessMaxMultiplier != want.AwarenessMaxMultiplier {
		t.Errorf("dilation changed a multiplier: %+v", ml)
	}
	if ml.ProbeInterval != 8*want.ProbeInterval {
		t.Errorf("ProbeInterval %s, want %s", ml.ProbeInterval, 8*want.ProbeInterval)
	}
	s := memberlist.DefaultLANConfig()
	before := *s
	dilateMemberlist(s, realTime)
	if !reflect.DeepEqual(*s, before) {
		t.Error("dilating by 1 changed the config")
	}
	var zero dilation
	if zero.wall(time.Second) != time.Second || zero.proto(time.Second) != time.Second || zero.dilated() {
		t.Error("the zero dilation is not real time")
	}
	if k := dilation(4); k.proto(k.wall(1234*time.Millisecond)) != 1234*time.Millisecond {
		t.Error("proto does not undo wall")
	}
}

func TestParseDilation(t *testing.T) {
	for _, ok := range []string{"1", "4", "2.5", "1000"} {
		if _, err := parseDilation(ok); err != nil {
			t.Errorf("parseDilation(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "0", "0.5", "-2", "x", "1001"} {
		if _, err := parseDilation(bad); err == nil {
			t.Errorf("parseDilation(%q) accepted it", bad)
		}
	}
}
