package coordinator

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/farmhand/farmhand/membership"
)

const (
	running    = ec2types.InstanceStateNameRunning
	stopped    = ec2types.InstanceStateNameStopped
	terminated = ec2types.InstanceStateNameTerminated
	ok         = ec2types.SummaryStatusOk
	impaired   = ec2types.SummaryStatusImpaired
)

// tagsOf returns the instance tags of a RunInstances call.
func tagsOf(in *ec2.RunInstancesInput) map[string]string {
	out := map[string]string{}
	for _, ts := range in.TagSpecifications {
		for _, t := range ts.Tags {
			out[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return out
}

func TestDeadGraceNotElapsedSkips(t *testing.T) {
	h := newHarness(t, nil)
	h.alive(1, 4, "worker")
	id := h.member(9, "worker", membership.StatusDead, 30*time.Second, stopped, ok)
	h.tick(h.c)
	if n := h.ec2.mutations(); n != 0 {
		t.Fatalf("%d EC2 mutations for a member dead for 30s", n)
	}
	mustDecision(t, h.c, CodeDeadGrace, id)
	// Once the grace has elapsed, the same member is replaced.
	h.clock.Advance(31 * time.Second)
	h.tick(h.c)
	if n := h.ec2.count("RunInstances"); n != 1 {
		t.Fatalf("RunInstances calls = %d after dead_grace, want 1", n)
	}
}

func TestNoQuorumSkips(t *testing.T) {
	h := newHarness(t, nil)
	h.formed()
	// The leader sees itself and one worker alive, four workers dead: it
	// may be the one cut off.
	h.alive(1, 1, "worker")
	for i := range 4 {
		h.dead(10+i, "worker", terminated, "")
	}
	h.tick(h.c)
	if !h.c.Status().Leader {
		t.Fatal("not leader")
	}
	d := mustDecision(t, h.c, CodeNoQuorum, iid(10))
	if d.Evidence == nil || d.Evidence.QuorumAlive != 2 || d.Evidence.QuorumTotal != 6 {
		t.Fatalf("evidence %+v, want quorum 2/6", d.Evidence)
	}
	if n := h.ec2.mutations(); n != 0 {
		t.Fatalf("a leader without quorum made %d EC2 mutations", n)
	}
	if n := h.ec2.count("DescribeInstances"); n != 0 {
		t.Fatalf("a leader without quorum asked EC2 %d times; it should do nothing", n)
	}
}

func TestRunningHealthyIsReportedNotReplaced(t *testing.T) {
	h := newHarness(t, nil) // SilentGrace 0: never
	h.alive(1, 4, "worker")
	id := h.member(9, "worker", membership.StatusDead, 72*time.Hour, running, ok)
	h.tick(h.c)
	d := mustDecision(t, h.c, CodeSilent, id)
	if d.Action != ActionReport || !strings.Contains(d.Reason, "agent down, machine healthy") {
		t.Fatalf("decision %+v", d)
	}
	if d.Evidence.EC2State != "running" || d.Evidence.EC2Status != "ok" || d.Evidence.GossipStatus != membership.StatusDead {
		t.Fatalf("evidence %+v", d.Evidence)
	}
	if n := h.ec2.mutations(); n != 0 {
		t.Fatalf("%d EC2 mutations for a healthy machine", n)
	}
}

func TestSilentGraceElapsedReplaces(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SilentGrace = 10 * time.Minute })
	h.alive(1, 4, "worker")
	id := h.member(9, "worker", membership.StatusDead, 5*time.Minute, running, ok)
	h.tick(h.c)
	mustDecision(t, h.c, CodeSilent, id)
	if n := h.ec2.mutations(); n != 0 {
		t.Fatalf("%d EC2 mutations before silent_grace", n)
	}
	h.clock.Advance(5 * time.Minute)
	h.tick(h.c)
	mustDecision(t, h.c, CodeSilentExpired, id)
	if got := h.ec2.instance(id).state; got != ec2types.InstanceStateNameShuttingDown {
		t.Fatalf("silent instance is %s, want terminated before its replacement", got)
	}
	if n := h.ec2.createdCount(); n != 1 {
		t.Fatalf("%d instances launched, want 1", n)
	}
}

func TestEC2WitnessReplaces(t *testing.T) {
	cases := []struct {
		name      string
		state     ec2types.InstanceStateName // "" = missing
		check     ec2types.SummaryStatus
		code      string
		terminate bool
	}{
		{"stopped", stopped, "", CodeStopped, true},
		{"terminated", terminated, "", CodeTerminated, false},
		{"impaired", running, impaired, CodeImpaired, true},
		{"missing", "", "", CodeMissing, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.alive(1, 4, "worker")
			id := h.dead(9, "worker", tc.state, tc.check)
			h.tick(h.c)
			if tc.state == "" {
				// Not among the cluster's tagged instances: asked by id
				// in the next round.
				mustDecision(t, h.c, CodeEC2Unavailable, id)
				h.tick(h.c)
			}
			d := mustDecision(t, h.c, tc.code, id)
			if d.Action != ActionReplace || d.Epoch != 1 {
				t.Fatalf("decision %+v", d)
			}
			if n := h.ec2.count("RunInstances"); n != 1 {
				t.Fatalf("RunInstances calls = %d, want 1", n)
			}
			if got := h.ec2.count("TerminateInstances") == 1; got != tc.terminate {
				t.Fatalf("terminated = %v, want %v", got, tc.terminate)
			}
			in := h.ec2.lastRun()
			if want := clientToken("c1", "workers", []string{id}, 0, 0); aws.ToString(in.ClientToken) != want {
				t.Fatalf("ClientToken %q, want %q", aws.ToString(in.ClientToken), want)
			}
			if aws.ToInt32(in.MinCount) != 1 || aws.ToInt32(in.MaxCount) != 1 || aws.ToString(in.SubnetId) != "subnet-a" || aws.ToString(in.ImageId) != "ami-1" {
				t.Fatalf("RunInstances input: min %d max %d subnet %q image %q", aws.ToInt32(in.MinCount), aws.ToInt32(in.MaxCount), aws.ToString(in.SubnetId), aws.ToString(in.ImageId))
			}
			tags := tagsOf(in)
			if tags[TagCluster] != "c1" || tags[TagGroup] != "workers" || tags[TagReplaces] != id || tags["team"] != "data" || tags[TagBatch] == "" {
				t.Fatalf("tags %v", tags)
			}
			if !slices.Equal(h.pruned, []string{id}) {
				t.Fatalf("pruned %v, want [%s]", h.pruned, id)
			}
		})
	}
}

func TestNewInstanceGraceSkips(t *testing.T) {
	h := newHarness(t, nil)
	h.alive(1, 4, "worker")
	id := h.dead(9, "worker", stopped, "")
	h.ec2.add(id, stopped, "", h.clock.Now().Add(-3*time.Minute), map[string]string{TagCluster: "c1"})
	h.tick(h.c)
	mustDecision(t, h.c, CodeNewInstance, id)
	if n := h.ec2.mutations(); n != 0 {
		t.Fatalf("%d EC2 mutations for a new instance", n)
	}
}

func TestFreezeAboveThreshold(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Groups[0].Max = 20
		c.Groups = append(c.Groups, Group{Name: "web", Min: 1, Max: 30, LaunchTemplate: "lt-0123"})
	})
	h.alive(100, 20, "web") // keeps the leader's quorum
	h.alive(1, 4, "worker")
	var deadIDs []string
	for i := range 6 { // 6 of 10 workers dead: 0.6 > 0.55
		deadIDs = append(deadIDs, h.dead(10+i, "worker", terminated, ""))
	}
	h.tick(h.c)
	st := h.c.Status()
	if !st.Groups[0].Frozen || !strings.Contains(st.Groups[0].FreezeReason, "6 of 10 members unhealthy") || st.Groups[1].Frozen {
		t.Fatalf("groups %+v, want workers frozen with the reason", st.Groups)
	}
	mustDecision(t, h.c, CodeFrozen, "")
	for _, id := range deadIDs {
		if d := mustDecision(t, h.c, CodeFrozen, id); d.Action != ActionSkip {
			t.Fatalf("decision %+v", d)
		}
	}
	if n := h.ec2.mutations(); n != 0 {
		t.Fatalf("a frozen group had %d EC2 mutations", n)
	}
	// Two come back: 4 of 10 unhealthy, below the threshold: thaw, replace 4.
	for _, id := range deadIDs[:2] {
		h.view.put(membership.Member{Name: id, Status: membership.StatusAlive, Tags: map[string]string{"role": "worker"}})
	}
	h.tick(h.c)
	if h.c.Status().Groups[0].Frozen {
		t.Fatal("still frozen")
	}
	if thaws := slices.DeleteFunc(h.c.History(0), func(d Decision) bool { return d.Action != ActionThaw }); len(thaws) != 1 || thaws[0].Group != "workers" {
		t.Fatalf("thaw decisions %+v, want one for workers", thaws)
	}
	if got := h.ec2.createdCount(); got != 4 {
		t.Fatalf("%d launched after the thaw, want 4", got)
	}
}

func TestRateLimitSlidingWindowSurvivesFailover(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxReplacements = 2; c.ReplacementWindow = 10 * time.Minute; c.Groups[0].Min = 0 })
	h.alive(1, 6, "worker")
	for i := range 4 {
		h.dead(10+i, "worker", terminated, "")
	}
	h.tick(h.c)
	if got := h.ec2.createdCount(); got != 2 {
		t.Fatalf("%d launched, want 2 (max_replacements)", got)
	}
	if n := len(decisions(h.c, CodeRateLimited)); n != 2 {
		t.Fatalf("%d rate_limited decisions, want 2:%s", n, historyString(h.c))
	}
	// The leader leaves; a new leader on the same store respects the window.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h.c.shutdown(ctx)
	view2 := &fakeView{self: membership.Member{Name: iid(0xc01), Status: membership.StatusAlive}, members: h.view.Members()}
	c2, err := New(h.cfg, h.ec2, h.store, view2)
	if err != nil {
		t.Fatal(err)
	}
	h.tick(c2)
	if !c2.Status().Leader || c2.Status().Epoch != 2 {
		t.Fatalf("successor status %+v", c2.Status())
	}
	if got := h.ec2.createdCount(); got != 2 {
		t.Fatalf("successor launched within the window: %d total", got)
	}
	mustDecision(t, c2, CodeRateLimited, iid(12))
	// After the window slides past, the rest are replaced.
	h.clock.Advance(10 * time.Minute)
	h.tick(c2)
	if got := h.ec2.createdCount(); got != 4 {
		t.Fatalf("%d launched after the window, want 4", got)
	}
}

func TestDryRunMakesNoMutations(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.DryRun = true; c.Groups[0].Min = 8 })
	h.alive(1, 4, "worker")
	id := h.dead(9, "worker", stopped, "")
	h.tick(h.c)
	h.tick(h.c)
	if n := h.ec2.mutations(); n != 0 {
		t.Fatalf("dry run made %d EC2 mutations", n)
	}
	if len(h.pruned) != 0 {
		t.Fatalf("dry run pruned %v", h.pruned)
	}
	d := mustDecision(t, h.c, CodeStopped, id)
	if d.Action != ActionReplace || !d.DryRun {
		t.Fatalf("decision %+v, want a dry-run replace", d)
	}
	if d := mustDecision(t, h.c, CodeBelowMin, ""); !d.DryRun {
		t.Fatalf("top-up decision %+v, want dry run", d)
	}
	p, err := h.c.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !p.DryRun || !slices.Equal(p.Groups[0].Replace, []string{id}) || p.Groups[0].TopUp != 3 {
		t.Fatalf("plan %+v, want replace [%s] and top-up 3", p.Groups[0], id)
	}
	if len(h.c.Status().Pending) != 0 {
		t.Fatal("dry run committed a batch")
	}
}

func TestMaxNeverExceeded(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Groups[0].Min = 6; c.Groups[0].Max = 6 })
	h.alive(1, 4, "worker")
	id := h.dead(9, "worker", terminated, "")
	// Two launches not yet in gossip: 4 alive + 1 dead + 2 pending = 7 > max 6.
	for _, n := range []int{20, 21} {
		h.ec2.add(iid(n), ec2types.InstanceStateNamePending, "", h.clock.Now().Add(-time.Minute), map[string]string{TagCluster: "c1", TagGroup: "workers"})
	}
	h.tick(h.c)
	mustDecision(t, h.c, CodeMaxReached, id)
	if n := h.ec2.count("RunInstances"); n != 0 {
		t.Fatalf("RunInstances called %d times above max", n)
	}
	// One pending launch dies before joining: 6 = max, and one for one is
	// allowed.
	h.ec2.set(iid(21), terminated, "")
	h.tick(h.c)
	if got := h.ec2.createdCount(); got != 1 {
		t.Fatalf("launched %d, want exactly the one replacement", got)
	}
	// Another member leaves: top-up to min 6 again, never above max.
	h.member(3, "worker", membership.StatusLeft, time.Minute, terminated, "") // left as its instance was terminated
	h.ec2.set(iid(20), terminated, "")
	h.tick(h.c)
	if got := h.ec2.createdCount(); got != 3 {
		t.Fatalf("launched %d in all, want 3 (1 replacement, 2 top-up)", got)
	}
	p, err := h.c.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p.Groups[0].Current > 6 || p.Groups[0].TopUp != 0 {
		t.Fatalf("plan %+v exceeds max", p.Groups[0])
	}
}

func TestTopUpCountsPending(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Groups[0].Min = 6 })
	h.alive(1, 3, "worker")
	// A graceful leave does not count; a launch not yet in gossip does.
	h.member(5, "worker", membership.StatusLeft, time.Hour, terminated, "")
	h.ec2.add(iid(20), ec2types.InstanceStateNamePending, "", h.clock.Now(), map[string]string{TagCluster: "c1", TagGroup: "workers"})
	h.tick(h.c)
	d := mustDecision(t, h.c, CodeBelowMin, "")
	if !strings.Contains(d.Reason, "has 4 of min 6") || !strings.Contains(d.Reason, "1 pending") {
		t.Fatalf("top-up reason %q", d.Reason)
	}
	in := h.ec2.lastRun()
	if in == nil || aws.ToInt32(in.MaxCount) != 2 || aws.ToInt32(in.MinCount) != 2 {
		t.Fatalf("top-up call %+v, want 2 instances", in)
	}
	if _, ok := tagsOf(in)[TagReplaces]; ok {
		t.Fatal("a pure top-up carries a farmhand:replaces tag")
	}
	mustDecision(t, h.c, CodeLeft, iid(5))
	// The two launches are pending now: no second top-up.
	h.clock.Advance(time.Minute)
	h.tick(h.c)
	if n := h.ec2.count("RunInstances"); n != 1 {
		t.Fatalf("RunInstances calls = %d: pending launches were not counted", n)
	}
	// Even before EC2 lists them (eventual consistency), the ledger counts them.
	for _, id := range h.ec2.launchedBy("workers") {
		h.ec2.set(id, ec2types.InstanceStateNameShuttingDown, "")
	}
	h.tick(h.c)
	if n := h.ec2.count("RunInstances"); n != 1 {
		t.Fatalf("RunInstances calls = %d: the ledger's launches were not counted", n)
	}
}

func TestICETriesNextSubnetOnce(t *testing.T) {
	h := newHarness(t, nil)
	h.alive(1, 4, "worker")
	id := h.dead(9, "worker", terminated, "")
	h.ec2.beforeRun = func(_ context.Context, in *ec2.RunInstancesInput) error {
		if aws.ToString(in.SubnetId) == "subnet-a" {
			return apiErr("InsufficientInstanceCapacity")
		}
		return nil
	}
	h.tick(h.c)
	if n := h.ec2.count("RunInstances"); n != 2 {
		t.Fatalf("RunInstances calls = %d, want 2 (subnet-a, then subnet-b)", n)
	}
	if got := h.ec2.lastRun(); aws.ToString(got.SubnetId) != "subnet-b" || aws.ToString(got.ClientToken) != clientToken("c1", "workers", []string{id}, 0, 1) {
		t.Fatalf("second call subnet %q token %q", aws.ToString(got.SubnetId), aws.ToString(got.ClientToken))
	}
	if n := h.ec2.createdCount(); n != 1 {
		t.Fatalf("%d launched, want 1", n)
	}
	mustDecision(t, h.c, CodeCapacity, "")
}

// Throttling that outlasts the SDK's retryer (the fakes throttle without
// it) fails the call; the next tick, an interval later, retries with the
// same ClientToken, so the death is replaced exactly once.
func TestThrottlingRetriedNextTickWithoutDuplicate(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.LeaseTTL = 10 * time.Minute; c.LeaseMargin = time.Minute })
	h.alive(1, 4, "worker")
	h.dead(9, "worker", stopped, "")
	h.ec2.throttle["DescribeInstances"] = 1
	h.ec2.throttle["TerminateInstances"] = 1
	h.ec2.throttle["RunInstances"] = 2
	for range 5 {
		h.tick(h.c)
		h.clock.Advance(h.cfg.Interval)
	}
	if n := h.ec2.count("RunInstances"); n != 3 {
		t.Fatalf("RunInstances calls = %d, want 3 (two throttled, one per tick)", n)
	}
	if n := h.ec2.createdCount(); n != 1 {
		t.Fatalf("%d launched, want exactly 1", n)
	}
	if tokens := h.ec2.runTokens(); tokens[0] != tokens[1] || tokens[1] != tokens[2] {
		t.Fatalf("retries used different tokens %v", tokens)
	}
	if n := len(decisions(h.c, CodeLaunchFailed)); n != 1 {
		t.Fatalf("%d launch_failed decisions, want 1 (the repeated failure is not recorded twice): %s", n, historyString(h.c))
	}
}

func TestPruneRetriedUntilItSucceeds(t *testing.T) {
	h := newHarness(t, nil)
	fail := true
	h.c.cfg.Prune = func(ctx context.Context, name string) error {
		if fail {
			return errors.New("s3 down")
		}
		h.pruned = append(h.pruned, name)
		return nil
	}
	h.alive(1, 4, "worker")
	id := h.dead(9, "worker", terminated, "")
	h.tick(h.c)
	mustDecision(t, h.c, CodePruneFailed, id)
	fail = false
	h.tick(h.c)
	if !slices.Equal(h.pruned, []string{id}) {
		t.Fatalf("pruned %v", h.pruned)
	}
	if n := h.ec2.createdCount(); n != 1 {
		t.Fatalf("%d launched, want 1", n)
	}
}
