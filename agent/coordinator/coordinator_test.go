package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/farmhand/farmhand/membership"
)

func TestFailoverMidReplacementLaunchesOnce(t *testing.T) {
	h := newHarness(t, nil)
	h.alive(1, 4, "worker")
	dead := h.dead(9, "worker", stopped, "")
	a, pathA := h.peer(iid(0xa))
	b, _ := h.peer(iid(0xb))
	// a's RunInstances reaches EC2, which launches, but a never hears back:
	// the response is lost and a is cut off from then on.
	h.ec2.afterRun = func(in *ec2.RunInstancesInput) error {
		pathA.setCut(true)
		return errors.New("read tcp: connection reset by peer (fake)")
	}
	h.tick(a)
	h.tick(b)
	if n := h.ec2.createdCount(); n != 1 {
		t.Fatalf("first call launched %d, want 1", n)
	}
	if b.Status().Leader {
		t.Fatal("b leads while a holds the lease")
	}
	h.ec2.afterRun = nil
	// Another worker dies while a is gone: b must not fold the first death
	// into a new batch (a new token would launch it a second time).
	second := h.dead(10, "worker", terminated, "")
	b.view.(*fakeView).put(membership.Member{Name: second, Status: membership.StatusDead, Since: t0.Add(-2 * time.Minute), Tags: map[string]string{"role": "worker"}})
	for range 80 {
		h.clock.Advance(time.Second)
		h.tick(a)
		h.tick(b)
	}
	if !b.lease.canAct() || b.Status().Epoch != 2 {
		t.Fatalf("b %+v, want leader at epoch 2", b.Status())
	}
	tokens := h.ec2.runTokens()
	want := clientToken("c1", "workers", []string{dead}, 0, 0)
	if len(tokens) != 3 || tokens[0] != want || tokens[1] != want || tokens[2] != clientToken("c1", "workers", []string{second}, 0, 0) {
		t.Fatalf("RunInstances tokens %v, want a's and b's calls with %s, then one for the second death", tokens, want)
	}
	if n := h.ec2.createdCount(); n != 2 {
		t.Fatalf("%d instances launched across the failover, want exactly 2 (one per death)", n)
	}
	first := h.ec2.instance(h.ec2.launchedBy("workers")[0])
	d := mustDecision(t, b, CodeOK, "")
	if d.Action != ActionLaunch || d.Epoch != 2 || len(d.Instances) != 1 || d.Instances[0] != first.id || first.tags[TagReplaces] != dead {
		t.Fatalf("b's first launch decision %+v, want the instance a's call launched (%s, replaces %s)", d, first.id, first.tags[TagReplaces])
	}
	// The ledger in S3 records the batch as launched by the new epoch.
	var st ledgerState
	if err := json.Unmarshal(h.store.object(testBucket, "farmhand/c1/ledger.json"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Epoch != 2 || st.Replaced[dead].IsZero() {
		t.Fatalf("ledger epoch %d replaced %v", st.Epoch, st.Replaced)
	}
}

// hundredDeaths builds 250 workers, deadN of them dead (stopped), and a
// healthy "web" group keeping the leader's quorum.
func hundredDeaths(t *testing.T, deadN int) *harness {
	h := newHarness(t, func(c *Config) {
		c.MaxReplacements = 200
		c.Groups[0].Min, c.Groups[0].Max = 200, 300
		c.Groups = append(c.Groups, Group{Name: "web", Min: 1, Max: 400, LaunchTemplate: "web-template"})
	})
	h.alive(1000, 300, "web")
	h.alive(1, 250-deadN, "worker")
	for i := range deadN {
		h.dead(10000+i, "worker", stopped, "")
	}
	return h
}

func TestHundredSimultaneousDeaths(t *testing.T) {
	h := hundredDeaths(t, 100)
	h.tick(h.c)
	h.tick(h.c)
	// Deaths judged in one tick make one batch (two when they straddle a
	// tick boundary, which the target of <= 2 calls allows for).
	if n := h.ec2.count("RunInstances"); n != 1 {
		t.Fatalf("RunInstances calls = %d, want 1", n)
	}
	if n := h.ec2.count("TerminateInstances"); n != 1 {
		t.Fatalf("TerminateInstances calls = %d, want 1", n)
	}
	if n := h.ec2.createdCount(); n != 100 {
		t.Fatalf("%d launched, want 100", n)
	}
	in := h.ec2.lastRun()
	if v := tagsOf(in)[TagReplaces]; !strings.HasPrefix(v, "batch:") {
		t.Fatalf("farmhand:replaces = %q, want a batch reference (100 ids do not fit in a tag)", v)
	}
	if len(decisions(h.c, CodeStopped)) != 100 {
		t.Fatalf("want 100 replace decisions with evidence")
	}
	if h.c.Status().Groups[0].Frozen {
		t.Fatal("40% unhealthy is below the 0.55 threshold")
	}
}

func TestHundredFiftyDeathsFreeze(t *testing.T) {
	h := hundredDeaths(t, 150)
	h.tick(h.c)
	if n := h.ec2.mutations(); n != 0 {
		t.Fatalf("%d EC2 mutations in a frozen group", n)
	}
	st := h.c.Status()
	if !st.Groups[0].Frozen || !strings.Contains(st.Groups[0].FreezeReason, "150 of 250") {
		t.Fatalf("status groups %+v", st.Groups)
	}
}

func TestRunTicksOnTriggerAndStops(t *testing.T) {
	h := newHarness(t, nil)
	h.alive(1, 4, "worker")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.c.Run(ctx) }()
	waitFor(t, func() bool { return h.c.Status().Leader })
	if err := h.c.Run(ctx); err == nil {
		t.Fatal("a second Run did not fail")
	}
	id := h.dead(9, "worker", terminated, "")
	h.c.Trigger()
	waitFor(t, func() bool { return h.ec2.createdCount() == 1 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil on cancel", err)
	}
	mustDecision(t, h.c, CodeTerminated, id)
}

func TestPlanHasNoSideEffects(t *testing.T) {
	h := newHarness(t, nil)
	h.alive(1, 4, "worker")
	h.tick(h.c)
	id := h.dead(9, "worker", stopped, "")
	puts, hist := h.store.putCount(), len(h.c.History(0))
	p, err := h.c.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Groups) != 1 || len(p.Groups[0].Replace) != 1 || p.Groups[0].Replace[0] != id || !p.Leader || p.Epoch != 1 {
		t.Fatalf("plan %+v", p)
	}
	if h.ec2.mutations() != 0 || h.store.putCount() != puts || len(h.c.History(0)) != hist {
		t.Fatal("Plan mutated EC2, S3 or the history")
	}
	// A follower plans from the stored ledger, with epoch 0.
	b, _ := h.peer(iid(0xb))
	bp, err := b.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if bp.Leader || bp.Epoch != 0 || len(bp.Groups[0].Replace) != 1 {
		t.Fatalf("follower plan %+v", bp)
	}
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"quorum"`, `"groups"`, `"replace"`, `"top_up"`, `"decisions"`, `"evidence"`, `"gossip_since"`} {
		if !strings.Contains(string(raw), key) {
			t.Errorf("plan JSON lacks %s: %s", key, raw)
		}
	}
}

func TestLedgerRecordsEvidenceInS3(t *testing.T) {
	h := newHarness(t, nil)
	h.alive(1, 4, "worker")
	id := h.dead(9, "worker", terminated, "")
	h.tick(h.c)
	var st ledgerState
	if err := json.Unmarshal(h.store.object(testBucket, "farmhand/c1/ledger.json"), &st); err != nil {
		t.Fatal(err)
	}
	var replace *Decision
	for i, d := range st.Decisions {
		if d.Action == ActionReplace && d.Instance == id {
			replace = &st.Decisions[i]
		}
	}
	if replace == nil || replace.Epoch != 1 || replace.Seq == 0 || replace.Evidence == nil {
		t.Fatalf("replace decision %+v", replace)
	}
	ev := replace.Evidence
	if ev.GossipStatus != membership.StatusDead || !ev.GossipSince.Equal(t0.Add(-2*time.Minute)) || ev.EC2State != "terminated" || ev.QuorumAlive != 5 || ev.QuorumTotal != 6 {
		t.Fatalf("evidence %+v", ev)
	}
	if len(st.Batches) != 1 || st.Batches[0].Replaces[0] != id || len(st.Batches[0].Launched) != 1 {
		t.Fatalf("batches %+v", st.Batches)
	}
}

func TestIdleTickWritesOnlyTheLeaseRenewal(t *testing.T) {
	h := newHarness(t, nil)
	h.alive(1, 4, "worker")
	h.tick(h.c)
	h.clock.Advance(h.cfg.Interval)
	h.tick(h.c)
	puts := h.store.putCount()
	h.clock.Advance(h.cfg.Interval)
	h.tick(h.c)
	if got := h.store.putCount() - puts; got != 0 {
		t.Fatalf("an idle tick between renewals made %d PUTs, want 0", got)
	}
	h.clock.Advance((h.cfg.LeaseTTL - h.cfg.LeaseMargin) / 2)
	h.tick(h.c)
	if got := h.store.putCount() - puts; got != 1 {
		t.Fatalf("an idle tick at renewal time made %d PUTs, want 1 (the lease renewal)", got)
	}
}

func TestLedgerFencesAStaleLeader(t *testing.T) {
	h := newHarness(t, nil)
	h.alive(1, 4, "worker")
	h.tick(h.c)
	// Someone else rewrites the ledger (a later leader): our next write fails
	// with 412 and we do not act on that tick.
	if _, err := h.store.PutObject(context.Background(), putInput("farmhand/c1/ledger.json", `{"version":1,"epoch":9}`)); err != nil {
		t.Fatal(err)
	}
	h.dead(9, "worker", terminated, "")
	h.tick(h.c)
	if n := h.ec2.count("RunInstances"); n != 0 {
		t.Fatalf("a fenced leader launched (%d calls)", n)
	}
	h.tick(h.c)
	errs := decisions(h.c, CodeLedgerError)
	if len(errs) != 2 || !strings.Contains(errs[0].Reason, "412") || !strings.Contains(errs[1].Reason, "newer than ours") {
		t.Fatalf("ledger errors %+v, want the 412 then the epoch check", errs)
	}
	if n := h.ec2.count("RunInstances"); n != 0 {
		t.Fatalf("a leader behind the ledger's epoch launched (%d calls)", n)
	}
}

func putInput(key, body string) *s3.PutObjectInput {
	return &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key), Body: strings.NewReader(body)}
}

func TestStatusJSON(t *testing.T) {
	h := newHarness(t, nil)
	h.alive(1, 4, "worker")
	h.dead(9, "worker", terminated, "")
	h.tick(h.c)
	st := h.c.Status()
	if !st.Leader || st.Holder != h.view.self.Name || st.Epoch != 1 || len(st.Pending) != 1 || len(st.LastDecisions) == 0 {
		t.Fatalf("status %+v", st)
	}
	raw, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"leader":true`, `"holder"`, `"epoch":1`, `"groups"`, `"frozen":false`, `"pending"`, `"last_decisions"`, `"token"`} {
		if !strings.Contains(string(raw), key) {
			t.Errorf("status JSON lacks %s", key)
		}
	}
	if got := h.c.History(2); len(got) != 2 || got[1].Seq <= got[0].Seq {
		t.Fatalf("History(2) = %+v, want the last two, oldest first", got)
	}
}

func TestIdempotentMismatchAdoptsLaunch(t *testing.T) {
	h := newHarness(t, nil)
	h.alive(1, 4, "worker")
	id := h.dead(9, "worker", terminated, "")
	// An earlier call with this token but another instance type launched one.
	token := clientToken("c1", "workers", []string{id}, 0, 0)
	if _, err := h.ec2.RunInstances(context.Background(), &ec2.RunInstancesInput{ClientToken: aws.String(token), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), InstanceType: "m5.large"}); err != nil {
		t.Fatal(err)
	}
	h.tick(h.c)
	if n := h.ec2.createdCount(); n != 1 {
		t.Fatalf("%d launched, want the earlier one adopted", n)
	}
	d := mustDecision(t, h.c, CodeOK, "")
	if d.Action != ActionLaunch || len(d.Instances) != 1 {
		t.Fatalf("decision %+v", d)
	}
}

func TestConfigValidate(t *testing.T) {
	good := testConfig(nil)
	good.Clock = DefaultConfig().Clock
	if err := good.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	// A zero margin means a quarter of the TTL: 15s/4 leaves room for 5s ticks.
	auto := good
	auto.Interval, auto.LeaseTTL, auto.LeaseMargin = 5*time.Second, 15*time.Second, 0
	if err := auto.Validate(); err != nil || auto.leaseMargin() != 15*time.Second/4 {
		t.Fatalf("auto margin %s: %v", auto.leaseMargin(), err)
	}
	cases := map[string]func(*Config){
		"cluster":          func(c *Config) { c.Cluster = "" },
		"bucket":           func(c *Config) { c.Bucket = "" },
		"prefix":           func(c *Config) { c.Prefix = "farmhand/c1" },
		"lease_ttl":        func(c *Config) { c.LeaseTTL = 2*c.Interval + c.LeaseMargin },
		"silent_grace":     func(c *Config) { c.SilentGrace = time.Second },
		"freeze":           func(c *Config) { c.FreezeThreshold = 0 },
		"max_replacements": func(c *Config) { c.MaxReplacements = 0 },
		"min (4) <= max":   func(c *Config) { c.Groups[0].Min = 4; c.Groups[0].Max = 3 },
		"launch_template":  func(c *Config) { c.Groups[0].ImageID = "" },
		"reserved prefix":  func(c *Config) { c.Groups[0].Tags = map[string]string{"farmhand:x": "y"} },
		"duplicate group":  func(c *Config) { c.Groups = append(c.Groups, c.Groups[0]) },
		"no groups":        func(c *Config) { c.Groups = nil },
	}
	for want, mutate := range cases {
		cfg := good
		cfg.Groups = append([]Group(nil), good.Groups...)
		mutate(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: Validate = %v", want, err)
		}
	}
}

// TestRunWakesWhenADeathBecomesDue checks that Run judges a death when its
// dead_grace ends, with no Trigger and an Interval far away: no membership
// event marks that moment.
func TestRunWakesWhenADeathBecomesDue(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Interval = time.Hour
		c.LeaseTTL = 4 * time.Hour
		c.BatchWindow = 0
	})
	h.alive(1, 4, "worker")
	id := h.member(9, "worker", membership.StatusDead, h.cfg.DeadGrace-time.Second, terminated, "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.c.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}()
	waitFor(t, func() bool { return h.c.Status().Leader })
	// Run now waits on its ticker and on the due timer for the death.
	bctx, bcancel := context.WithTimeout(ctx, 5*time.Second)
	defer bcancel()
	if err := h.clock.BlockUntilContext(bctx, 2); err != nil {
		t.Fatalf("Run set no timer for the pending death: %v", err)
	}
	if n := h.ec2.createdCount(); n != 0 {
		t.Fatalf("%d launched before dead_grace ended", n)
	}
	h.clock.Advance(time.Second)
	waitFor(t, func() bool { return h.ec2.createdCount() == 1 })
	mustDecision(t, h.c, CodeTerminated, id)
}
