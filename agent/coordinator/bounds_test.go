package coordinator

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/farmhand/farmhand/membership"
)

// countingStore counts one node's S3 requests.
type countingStore struct {
	ObjectStore
	mu         sync.Mutex
	gets, puts int
	putsTo     map[string]int // by key
}

func (s *countingStore) GetObject(ctx context.Context, in *s3.GetObjectInput, o ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	s.mu.Lock()
	s.gets++
	s.mu.Unlock()
	return s.ObjectStore.GetObject(ctx, in, o...)
}

func (s *countingStore) PutObject(ctx context.Context, in *s3.PutObjectInput, o ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	s.mu.Lock()
	s.puts++
	if s.putsTo == nil {
		s.putsTo = map[string]int{}
	}
	s.putsTo[aws.ToString(in.Key)]++
	s.mu.Unlock()
	return s.ObjectStore.PutObject(ctx, in, o...)
}

func (s *countingStore) putsOf(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.putsTo[key]
}

func (s *countingStore) counts() (gets, puts int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets, s.puts
}

// counted adds a coordinator named name whose S3 requests are counted.
func (h *harness) counted(name string) (*Coordinator, *countingStore) {
	h.t.Helper()
	store := &countingStore{ObjectStore: h.objects}
	c, err := New(h.cfg, h.ec2, store, h.view)
	if err != nil {
		h.t.Fatal(err)
	}
	c.holder = name
	c.lease.self = name
	return c, store
}

// stormSteps is how many ticks an event storm crams into one interval.
const stormSteps = 100

// A follower flooded with membership events (a cold start, a mass
// failure) ticks on each of them, but reads the lease at most once per
// interval, and still takes over within lease_ttl + interval once the
// leader is gone.
func TestFollowerReadsTheLeaseAtMostOncePerIntervalInAnEventStorm(t *testing.T) {
	h := newHarness(t, nil)
	h.alive(1, 4, "worker")
	leader, _ := h.counted(iid(0xa))
	follower, fstore := h.counted(iid(0xb))
	ctx := context.Background()
	leader.tick(ctx)
	const intervals = 20
	for i := range intervals * stormSteps {
		if i%stormSteps == 0 {
			leader.tick(ctx)
		}
		follower.tick(ctx) // one membership event
		h.clock.Advance(h.cfg.Interval / stormSteps)
	}
	if gets, puts := fstore.counts(); gets > intervals+1 || puts != 0 {
		t.Fatalf("follower made %d GETs and %d PUTs in %d intervals of %d events each, want at most %d GETs (one per interval) and no PUT",
			gets, puts, intervals, stormSteps, intervals+1)
	}
	if follower.lease.canAct() || !leader.lease.canAct() {
		t.Fatal("leadership changed hands without a failure")
	}
	// The leader stops; the storm goes on. The follower takes over in time.
	stopped := h.clock.Now()
	for !follower.lease.canAct() {
		if waited := h.clock.Now().Sub(stopped); waited > h.cfg.LeaseTTL+2*h.cfg.Interval {
			t.Fatalf("no takeover %s after the leader stopped", waited)
		}
		follower.tick(ctx)
		h.clock.Advance(h.cfg.Interval / stormSteps)
	}
	t.Logf("takeover %s after the leader's last tick", h.clock.Now().Sub(stopped))
}

// A leader under a storm of membership events and deaths ticks on each
// event but makes at most one DescribeInstances (and one
// DescribeInstanceStatus) per interval, renews the lease no more often
// than its schedule, and still replaces every death exactly once.
func TestLeaderDescribesAtMostOncePerIntervalInAnEventStorm(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.MaxReplacements = 100
		c.Groups[0].Min, c.Groups[0].Max = 3, 100
	})
	h.alive(1, 30, "worker")
	leader, store := h.counted(iid(0xa))
	ctx := context.Background()
	const intervals = 40 // 200 s: every death passes dead_grace (60 s)
	var died []string
	for i := range intervals * stormSteps {
		switch {
		case i%40 == 0 && len(died) < 10:
			// A machine dies (its instance stopped, as EC2 will say).
			id := iid(1 + len(died))
			h.ec2.set(id, stopped, "")
			h.view.put(membership.Member{Name: id, Status: membership.StatusDead, Since: h.clock.Now(), Tags: map[string]string{"role": "worker"}})
			died = append(died, id)
		case i%7 == 0:
			// Someone else flaps: suspect, then alive again.
			id := iid(20 + i%10)
			st := membership.StatusSuspect
			if i%14 == 0 {
				st = membership.StatusAlive
			}
			h.view.put(membership.Member{Name: id, Status: st, Since: h.clock.Now(), Tags: map[string]string{"role": "worker"}})
		}
		leader.tick(ctx) // one membership event
		h.clock.Advance(h.cfg.Interval / stormSteps)
	}
	if n := h.ec2.count("DescribeInstances"); n == 0 || n > intervals+1 {
		t.Fatalf("DescribeInstances calls = %d in %d intervals of %d events, want between 1 and %d", n, intervals, stormSteps, intervals+1)
	}
	if n := h.ec2.count("DescribeInstanceStatus"); n > intervals+1 {
		t.Fatalf("DescribeInstanceStatus calls = %d in %d intervals, want at most %d", n, intervals, intervals+1)
	}
	renewals := int(time.Duration(intervals)*h.cfg.Interval/leader.lease.renewAfter()) + 1
	ledgerWrites := 2 * len(died) // about: the batch, then its launch
	if _, puts := store.counts(); puts > renewals+ledgerWrites+4 {
		t.Fatalf("%d PUTs, want at most %d lease renewals and about %d ledger writes", puts, renewals, ledgerWrites)
	}
	if n := h.ec2.createdCount(); n != len(died) {
		t.Fatalf("%d launched for %d deaths, want one each\n%s", n, len(died), historyString(leader))
	}
	t.Logf("%d deaths in %d intervals: %d DescribeInstances, %d DescribeInstanceStatus, %d RunInstances",
		len(died), intervals, h.ec2.count("DescribeInstances"), h.ec2.count("DescribeInstanceStatus"), h.ec2.count("RunInstances"))
}

// A mass failure seen one death per event, a hundred events an interval:
// each death is a new decision for the ledger, but the leader writes the
// ledger at most once per interval (plus the writes around a launch), not
// once per event.
func TestLeaderWritesTheLedgerAtMostOncePerIntervalInADeathStorm(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Groups[0].Min, c.Groups[0].Max = 3, 300
		c.FreezeThreshold = 1 // no freeze: the point is the writes
	})
	h.alive(1, 200, "worker")
	leader, store := h.counted(iid(0xa))
	ctx := context.Background()
	leader.tick(ctx)
	const intervals = 5
	for i := range intervals * stormSteps {
		if i < 150 {
			id := iid(1 + i)
			h.view.put(membership.Member{Name: id, Status: membership.StatusDead, Since: h.clock.Now(), Tags: map[string]string{"role": "worker"}})
		}
		leader.tick(ctx)
		h.clock.Advance(h.cfg.Interval / stormSteps)
	}
	// No death passed dead_grace: no launch, so every ledger write is upkeep.
	if n := h.ec2.mutations(); n != 0 {
		t.Fatalf("%d EC2 mutations", n)
	}
	if n := store.putsOf("farmhand/c1/ledger.json"); n > intervals+1 {
		t.Fatalf("%d ledger writes for 150 deaths in %d intervals, want at most one per interval", n, intervals)
	}
	if len(decisions(leader, CodeDeadGrace)) != 150 {
		t.Fatalf("want a dead_grace decision for each death: %d", len(decisions(leader, CodeDeadGrace)))
	}
}

// S3 request prices (us-east-1): PUT $0.005 and GET $0.0004 per 1,000.
const (
	putPrice = 0.005 / 1000
	getPrice = 0.0004 / 1000
)

// The default lease costs under $1 a month in S3 requests for a cluster
// with three coordinator candidates (a leader and two followers), and a
// follower takes over within 60 s of the leader's death.
func TestDefaultLeaseCostsUnderADollarAndFailsOverWithinAMinute(t *testing.T) {
	d := DefaultConfig()
	h := newHarness(t, func(c *Config) { c.Interval, c.LeaseTTL, c.LeaseMargin = d.Interval, d.LeaseTTL, d.LeaseMargin })
	h.alive(1, 4, "worker")
	leader, lstore := h.counted(iid(0xa))
	f1, s1 := h.counted(iid(0xb))
	f2, s2 := h.counted(iid(0xc))
	ctx := context.Background()
	const hour = time.Hour
	for h.clock.Now().Sub(t0) < hour {
		for _, c := range []*Coordinator{leader, f1, f2} {
			c.tick(ctx)
		}
		h.clock.Advance(d.Interval)
	}
	if !leader.lease.canAct() || f1.lease.canAct() || f2.lease.canAct() {
		t.Fatal("want the first coordinator to lead throughout")
	}
	_, puts := lstore.counts()
	g1, _ := s1.counts()
	g2, _ := s2.counts()
	const month = 30 * 24 // hours
	leaderCost := float64(puts*month) * putPrice
	followerCost := float64((g1+g2)*month) * getPrice
	t.Logf("per month: leader %d PUTs ($%.2f), followers %d GETs each ($%.2f together): $%.2f",
		puts*month, leaderCost, g1*month, followerCost, leaderCost+followerCost)
	if total := leaderCost + followerCost; total >= 1 {
		t.Errorf("the default lease costs $%.2f per cluster per month, want under $1", total)
	}

	// The leader dies right after a renewal (the worst case); the
	// followers keep ticking every interval.
	for !leader.lease.renewedAt.Equal(h.clock.Now()) {
		for _, c := range []*Coordinator{leader, f1, f2} {
			c.tick(ctx)
		}
		h.clock.Advance(d.Interval)
		leader.tick(ctx)
	}
	died := h.clock.Now()
	for !f1.lease.canAct() && !f2.lease.canAct() {
		h.clock.Advance(d.Interval)
		f1.tick(ctx)
		f2.tick(ctx)
		if took := h.clock.Now().Sub(died); took > time.Minute {
			t.Fatalf("no leader %s after the leader died, want a takeover within 60 s", took)
		}
	}
	t.Logf("failover %s after the leader's death", h.clock.Now().Sub(died))
}
