package coordinator

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/membership"
)

func TestJudge(t *testing.T) {
	now := t0
	running := witness{Asked: true, Found: true, State: ec2types.InstanceStateNameRunning, Status: "ok", LaunchTime: now.Add(-time.Hour)}
	with := func(w witness, f func(*witness)) witness { f(&w); return w }
	quorum := Quorum{Alive: 5, Total: 6, OK: true}
	dead := func(d time.Duration) membership.Member {
		return membership.Member{Name: iid(1), Status: membership.StatusDead, Since: now.Add(-d)}
	}
	cases := []struct {
		name   string
		m      membership.Member
		q      Quorum
		w      witness
		silent time.Duration
		action Action
		code   string
	}{
		{"alive is not judged", membership.Member{Name: iid(1), Status: membership.StatusAlive}, quorum, running, 0, "", ""},
		{"suspect is not judged", membership.Member{Name: iid(1), Status: membership.StatusSuspect, Since: now.Add(-time.Hour)}, quorum, running, 0, "", ""},
		{"left is never replaced one for one", membership.Member{Name: iid(1), Status: membership.StatusLeft, Since: now.Add(-time.Hour)}, quorum, with(running, func(w *witness) { w.State = ec2types.InstanceStateNameTerminated }), 0, ActionSkip, CodeLeft},
		{"dead grace not elapsed", dead(59 * time.Second), quorum, with(running, func(w *witness) { w.Found = false }), 0, ActionSkip, CodeDeadGrace},
		{"no quorum", dead(time.Hour), Quorum{Alive: 3, Total: 6}, with(running, func(w *witness) { w.Found = false }), 0, ActionSkip, CodeNoQuorum},
		{"name is not an instance id", membership.Member{Name: "web-1", Status: membership.StatusDead, Since: now.Add(-time.Hour)}, quorum, witness{Asked: true}, 0, ActionSkip, CodeNotInstance},
		{"EC2 not asked", dead(time.Hour), quorum, witness{}, 0, ActionSkip, CodeEC2Unavailable},
		{"new instance grace", dead(2 * time.Minute), quorum, with(running, func(w *witness) {
			w.State, w.LaunchTime = ec2types.InstanceStateNameTerminated, now.Add(-5*time.Minute)
		}), 0, ActionSkip, CodeNewInstance},
		{"missing", dead(2 * time.Minute), quorum, witness{Asked: true}, 0, ActionReplace, CodeMissing},
		{"terminated", dead(2 * time.Minute), quorum, with(running, func(w *witness) { w.State = ec2types.InstanceStateNameTerminated }), 0, ActionReplace, CodeTerminated},
		{"shutting-down", dead(2 * time.Minute), quorum, with(running, func(w *witness) { w.State = ec2types.InstanceStateNameShuttingDown }), 0, ActionReplace, CodeTerminated},
		{"stopped", dead(2 * time.Minute), quorum, with(running, func(w *witness) { w.State = ec2types.InstanceStateNameStopped }), 0, ActionReplace, CodeStopped},
		{"stopping", dead(2 * time.Minute), quorum, with(running, func(w *witness) { w.State = ec2types.InstanceStateNameStopping }), 0, ActionReplace, CodeStopped},
		{"impaired", dead(2 * time.Minute), quorum, with(running, func(w *witness) { w.Status = "impaired" }), 0, ActionReplace, CodeImpaired},
		{"running healthy, silent grace 0: report only", dead(48 * time.Hour), quorum, running, 0, ActionReport, CodeSilent},
		{"running, status unknown: report only", dead(48 * time.Hour), quorum, with(running, func(w *witness) { w.Status = "" }), 0, ActionReport, CodeSilent},
		{"running healthy, silent grace not elapsed", dead(9 * time.Minute), quorum, running, 10 * time.Minute, ActionReport, CodeSilent},
		{"running healthy, silent grace elapsed", dead(10 * time.Minute), quorum, running, 10 * time.Minute, ActionReplace, CodeSilentExpired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(clockwork.NewFakeClockAt(now))
			cfg.SilentGrace = tc.silent
			v := judge(&cfg, now, tc.m, tc.q, tc.w)
			if v.Action != tc.action || v.Code != tc.code {
				t.Fatalf("judge = %s/%s (%s), want %s/%s", v.Action, v.Code, v.Reason, tc.action, tc.code)
			}
			if tc.action != "" && v.Reason == "" {
				t.Fatal("verdict has no reason")
			}
		})
	}
}

func TestClusterQuorum(t *testing.T) {
	groups := []Group{{Name: "a", Min: 2}, {Name: "b", Min: 2}}
	m := func(s ...membership.Status) []membership.Member {
		var out []membership.Member
		for _, st := range s {
			out = append(out, membership.Member{Status: st})
		}
		return out
	}
	A, S, D, L, R := membership.StatusAlive, membership.StatusSuspect, membership.StatusDead, membership.StatusLeft, membership.StatusDraining
	cases := []struct {
		name         string
		members      []membership.Member
		alive, total int
		ok           bool
	}{
		{"majority alive", m(A, A, A, D, D), 3, 5, true},
		{"exactly half is not a majority", m(A, A, A, D, D, D), 3, 6, false},
		{"suspect does not count as alive", m(A, A, S, S, D), 2, 5, false},
		{"left members are out of the count", m(A, A, A, L, L, L, L, D), 3, 4, true},
		{"a view that lost the others still needs the group minimums", m(A), 1, 4, false},
		{"empty view", nil, 0, 4, false},
		{"draining members still answer", m(A, A, R, D, D), 3, 5, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := clusterQuorum(tc.members, groups)
			if q.Alive != tc.alive || q.Total != tc.total || q.OK != tc.ok {
				t.Fatalf("quorum = %+v, want alive %d total %d ok %v", q, tc.alive, tc.total, tc.ok)
			}
		})
	}
}

// A new cluster's quorum is counted against what exists: the members not
// left and the instances EC2 lists with the cluster tag, whichever way
// they overlap.
func TestBootstrapQuorum(t *testing.T) {
	mem := func(name string, s membership.Status) membership.Member {
		return membership.Member{Name: name, Status: s}
	}
	inst := func(ids ...string) map[string]instanceInfo {
		out := map[string]instanceInfo{}
		for _, id := range ids {
			out[id] = instanceInfo{ID: id, State: ec2types.InstanceStateNameRunning}
		}
		return out
	}
	cases := []struct {
		name         string
		members      []membership.Member
		cluster      map[string]instanceInfo
		alive, total int
		ok           bool
	}{
		{"a lone seed", []membership.Member{mem("a", membership.StatusAlive)}, inst("a"), 1, 1, true},
		{"a lone untagged seed", []membership.Member{mem("a", membership.StatusAlive)}, nil, 1, 1, true},
		{"a seed cut off from another instance", []membership.Member{mem("a", membership.StatusAlive)}, inst("a", "b"), 1, 2, false},
		{"launches booting", []membership.Member{mem("a", membership.StatusAlive)}, inst("a", "b", "c", "d"), 1, 4, false},
		{"a dead member reaped from EC2 still counts", []membership.Member{mem("a", membership.StatusAlive), mem("b", membership.StatusDead)}, inst("a"), 1, 2, false},
		{"left members are out", []membership.Member{mem("a", membership.StatusAlive), mem("b", membership.StatusLeft)}, inst("a"), 1, 1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := bootstrapQuorum(tc.members, tc.cluster)
			if q.Alive != tc.alive || q.Total != tc.total || q.OK != tc.ok || !q.Bootstrap {
				t.Fatalf("quorum = %+v, want alive %d total %d ok %v, bootstrap", q, tc.alive, tc.total, tc.ok)
			}
		})
	}
}

func TestFreezeVerdict(t *testing.T) {
	cases := []struct {
		name   string
		h      Health
		min    int
		frozen bool
	}{
		{"healthy", Health{Alive: 10}, 3, false},
		{"at the threshold is not above it", Health{Alive: 9, Dead: 11}, 3, false},
		{"above the threshold", Health{Alive: 8, Dead: 12}, 3, true},
		{"suspects count as unhealthy", Health{Alive: 4, Suspect: 3, Dead: 3}, 3, true},
		{"left members are not in the size", Health{Alive: 4, Dead: 6, Left: 20}, 3, true},
		{"one failure never freezes, even a one-node group", Health{Dead: 1}, 1, false},
		{"minimum floors the size", Health{Alive: 1, Dead: 2}, 10, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			frozen, why := freezeVerdict(tc.h, tc.min, 0.55)
			if frozen != tc.frozen {
				t.Fatalf("frozen = %v (%q), want %v", frozen, why, tc.frozen)
			}
			if frozen && !strings.Contains(why, "exceeds freeze threshold 0.55") {
				t.Fatalf("reason %q does not explain the freeze", why)
			}
		})
	}
}

func TestWorstStatus(t *testing.T) {
	ok := &ec2types.InstanceStatusSummary{Status: ec2types.SummaryStatusOk}
	bad := &ec2types.InstanceStatusSummary{Status: ec2types.SummaryStatusImpaired}
	if s := worstStatus(ok, bad); s != "impaired" {
		t.Fatalf("system impaired: got %q", s)
	}
	if s := worstStatus(bad, ok); s != "impaired" {
		t.Fatalf("instance impaired: got %q", s)
	}
	if s := worstStatus(nil, ok); s != "ok" {
		t.Fatalf("got %q, want ok", s)
	}
	if s := worstStatus(nil, nil); s != "" {
		t.Fatalf("got %q, want unknown", s)
	}
}

func TestClientToken(t *testing.T) {
	// The single-replacement token is hex(sha256(cluster + "/" + id)).
	sum := sha256.Sum256([]byte("c1/i-0abc"))
	if got, want := clientToken("c1", "workers", []string{"i-0abc"}, 0, 0), hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("token %q, want %q", got, want)
	}
	a := clientToken("c1", "workers", []string{"i-1", "i-2"}, 0, 0)
	if a != clientToken("c1", "workers", []string{"i-1", "i-2"}, 0, 0) {
		t.Fatal("token is not deterministic")
	}
	for name, other := range map[string]string{
		"other cluster": clientToken("c2", "workers", []string{"i-1", "i-2"}, 0, 0),
		"other ids":     clientToken("c1", "workers", []string{"i-1", "i-3"}, 0, 0),
		"top-up":        clientToken("c1", "workers", []string{"i-1", "i-2"}, 1, 0),
		"next attempt":  clientToken("c1", "workers", []string{"i-1", "i-2"}, 0, 1),
	} {
		if other == a {
			t.Errorf("%s gives the same token", name)
		}
	}
	b := newBatch("c1", "workers", []string{"i-2", "i-1"}, nil, 0, 0, 1, t0)
	if b.Token != a || b.ID != a[:16] {
		t.Fatalf("batch token %q id %q: replaced ids must be sorted into the token", b.Token, b.ID)
	}
}

// Every exit of the verdicts added for EC2 as it is (stopped, notices,
// Auto Scaling, left members coming back) gives a code and a reason.
func TestJudgeStoppedNoticesAndOwnership(t *testing.T) {
	now := t0
	w := func(state ec2types.InstanceStateName, asg string) witness {
		return witness{Asked: true, Found: true, State: state, Status: "ok", LaunchTime: now.Add(-time.Hour), ASGroup: asg}
	}
	m := func(s membership.Status, since time.Duration, tags map[string]string) membership.Member {
		return membership.Member{Name: iid(1), Status: s, Since: now.Add(-since), Tags: tags}
	}
	q := Quorum{Alive: 5, Total: 6, OK: true}
	reb := map[string]string{MemberTagRebalance: "1"}
	R, D, A, L := membership.StatusDraining, membership.StatusDead, membership.StatusAlive, membership.StatusLeft
	stoppedS, stopping := ec2types.InstanceStateNameStopped, ec2types.InstanceStateNameStopping
	cases := []struct {
		name     string
		m        membership.Member
		q        Quorum
		w        witness
		grace    time.Duration // stopped_grace
		policy   string
		action   Action
		code     string
		inReason string
	}{
		{"dead, stopped within stopped_grace", m(D, 10*time.Minute, nil), q, w(stoppedS, ""), time.Hour, RebalanceWarn, ActionSkip, CodeStoppedGrace, "replaced only after stopped_grace 1h0m0s"},
		{"dead, stopping within stopped_grace", m(D, 10*time.Minute, nil), q, w(stopping, ""), time.Hour, RebalanceWarn, ActionSkip, CodeStoppedGrace, "stopping"},
		{"dead, stopped past stopped_grace", m(D, time.Hour, nil), q, w(stoppedS, ""), time.Hour, RebalanceWarn, ActionReplace, CodeStopped, ">= stopped_grace"},
		{"dead, stopped, stopped_grace 0", m(D, 100*time.Hour, nil), q, w(stoppedS, ""), 0, RebalanceWarn, ActionSkip, CodeStoppedGrace, "never"},
		{"dead, Auto Scaling", m(D, time.Hour, nil), q, w(ec2types.InstanceStateNameTerminated, "asg"), time.Hour, RebalanceWarn, ActionSkip, CodeASGOwned, `"asg"`},
		{"left, stopped", m(L, time.Minute, nil), q, w(stoppedS, ""), time.Hour, RebalanceWarn, ActionSkip, CodeStoppedGrace, "its place in the group"},
		{"left, stopped past the grace", m(L, 2*time.Hour, nil), q, w(stoppedS, ""), time.Hour, RebalanceWarn, ActionSkip, CodeLeft, "topped up"},
		{"left, running: restarting", m(L, time.Minute, nil), q, w(ec2types.InstanceStateNameRunning, ""), time.Hour, RebalanceWarn, ActionSkip, CodeRestarting, "new_instance_grace"},
		{"left, terminated", m(L, time.Minute, nil), q, w(ec2types.InstanceStateNameTerminated, ""), time.Hour, RebalanceWarn, ActionSkip, CodeLeft, "left gracefully"},
		{"draining", m(R, 0, nil), q, w(ec2types.InstanceStateNameRunning, ""), time.Hour, RebalanceWarn, ActionReplace, CodeDraining, "replaced now"},
		{"draining, no quorum", m(R, 0, nil), Quorum{Alive: 2, Total: 6}, w(ec2types.InstanceStateNameRunning, ""), time.Hour, RebalanceWarn, ActionSkip, CodeNoQuorum, "cut off"},
		{"draining, EC2 not asked", m(R, 0, nil), q, witness{}, time.Hour, RebalanceWarn, ActionSkip, CodeEC2Unavailable, "no answer"},
		{"draining, deferred", m(R, 0, nil), q, witness{Deferred: true}, time.Hour, RebalanceWarn, ActionSkip, CodeEC2Unavailable, "next round"},
		{"draining, missing", m(R, 0, nil), q, witness{Asked: true}, time.Hour, RebalanceWarn, ActionReplace, CodeDraining, "no longer knows"},
		{"draining, Auto Scaling", m(R, 0, nil), q, w(ec2types.InstanceStateNameRunning, "asg"), time.Hour, RebalanceWarn, ActionSkip, CodeASGOwned, "never terminates"},
		{"draining, not an instance", membership.Member{Name: "web-1", Status: R}, q, witness{}, time.Hour, RebalanceWarn, ActionSkip, CodeNotInstance, "web-1"},
		{"rebalance, warn", m(A, 0, reb), q, w(ec2types.InstanceStateNameRunning, ""), time.Hour, RebalanceWarn, ActionReport, CodeRebalance, "warn"},
		{"rebalance, replace", m(A, 0, reb), q, w(ec2types.InstanceStateNameRunning, ""), time.Hour, RebalanceReplace, ActionReplace, CodeRebalance, "replace"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(clockwork.NewFakeClockAt(now))
			cfg.StoppedGrace, cfg.OnRebalance = tc.grace, tc.policy
			v := judge(&cfg, now, tc.m, tc.q, tc.w)
			if v.Action != tc.action || v.Code != tc.code || !strings.Contains(v.Reason, tc.inReason) {
				t.Fatalf("judge = %s/%s (%s), want %s/%s with %q", v.Action, v.Code, v.Reason, tc.action, tc.code, tc.inReason)
			}
		})
	}
}
