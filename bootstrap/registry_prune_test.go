package bootstrap

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// pruneFarm is a registry of n records on a fake S3, the gossip view of
// their members, and request counts.
type pruneFarm struct {
	t     *testing.T
	s3    *fakeS3
	reg   *Registry
	clock *clockwork.FakeClock

	mu      sync.Mutex
	view    map[string]GoneMember
	ops     map[string]int
	states  map[string]string // EC2 states; nil ids are unknown
	ec2Err  error
	ec2Asks int
}

func newPruneFarm(t *testing.T, n int) *pruneFarm {
	t.Helper()
	f := &pruneFarm{t: t, s3: newFakeS3(testBucket), view: map[string]GoneMember{}, ops: map[string]int{}, states: map[string]string{}}
	// The records are written in the fake S3's first n seconds; the
	// members go after that.
	f.clock = clockwork.NewFakeClockAt(f.s3.now.Add(time.Duration(n+1) * time.Second))
	f.s3.fail = func(op, key string) error {
		f.mu.Lock()
		f.ops[op]++
		f.mu.Unlock()
		return nil
	}
	f.reg = newTestRegistry(t, f.s3, nil)
	for i := range n {
		rec := testRecord(i, "us-east-1a")
		if err := f.reg.Register(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
		f.view[rec.Name] = GoneMember{Name: rec.Name, Alive: true, Since: f.clock.Now()}
		f.states[rec.Name] = "running"
	}
	f.resetOps()
	return f
}

func (f *pruneFarm) resetOps() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = map[string]int{}
}

func (f *pruneFarm) requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, v := range f.ops {
		n += v
	}
	return n
}

func (f *pruneFarm) members() []GoneMember {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []GoneMember
	for _, m := range f.view {
		out = append(out, m)
	}
	return out
}

// gone marks member i dead (or left) now; its instance is in state.
func (f *pruneFarm) gone(i int, state string) string {
	name := testRecord(i, "").Name
	f.mu.Lock()
	defer f.mu.Unlock()
	f.view[name] = GoneMember{Name: name, Gone: true, Since: f.clock.Now()}
	if state == "" {
		delete(f.states, name)
	} else {
		f.states[name] = state
	}
	return name
}

func (f *pruneFarm) instanceStates(ctx context.Context, ids []string) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ec2Asks++
	if f.ec2Err != nil {
		return nil, f.ec2Err
	}
	out := map[string]string{}
	for _, id := range ids {
		if s, ok := f.states[id]; ok {
			out[id] = s
		}
	}
	return out, nil
}

func (f *pruneFarm) hasRecord(name string) bool {
	objs, err := f.reg.listPrefix(context.Background(), f.reg.nodePrefix(name))
	if err != nil {
		f.t.Fatal(err)
	}
	return len(objs) > 0
}

// pruner is the pruner of member self.
func (f *pruneFarm) pruner(self int, edit func(*PruneConfig)) *Pruner {
	f.t.Helper()
	cfg := PruneConfig{After: time.Hour, Self: testRecord(self, "").Name, Members: f.members, States: f.instanceStates, Clock: f.clock}
	if edit != nil {
		edit(&cfg)
	}
	p, err := NewPruner(f.reg, cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

func (f *pruneFarm) pass(p *Pruner) int {
	f.t.Helper()
	n, err := p.Pass(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// Only the alive member with the lowest name prunes; every other agent's
// pass makes no request, whatever is stale.
func TestOnlyTheLowestAliveMemberPrunes(t *testing.T) {
	f := newPruneFarm(t, 6)
	f.gone(0, "terminated") // the lowest name is gone: member 1 is the pruner
	dead := f.gone(5, "terminated")
	f.clock.Advance(2 * time.Hour)
	for i := 2; i <= 4; i++ {
		if n := f.pass(f.pruner(i, nil)); n != 0 {
			t.Fatalf("member %d pruned %d records; only the lowest alive member prunes", i, n)
		}
	}
	if n := f.requests(); n != 0 {
		t.Fatalf("%d S3 requests from agents that are not the pruner, want 0", n)
	}
	if n := f.pass(f.pruner(1, nil)); n != 2 || f.hasRecord(dead) || f.hasRecord(testRecord(0, "").Name) {
		t.Fatalf("the pruner deleted %d records (want 2, members 0 and 5)", n)
	}
}

// A member is pruned only once it has been gone for After, and a record
// written after it went (a new life of the node) stays.
func TestPruneWaitsForAfterAndKeepsANewerRecord(t *testing.T) {
	f := newPruneFarm(t, 3)
	p := f.pruner(0, nil)
	left := f.gone(1, "terminated")
	f.clock.Advance(59 * time.Minute)
	if n := f.pass(p); n != 0 || f.requests() != 0 {
		t.Fatalf("pruned %d (%d requests) before prune_after", n, f.requests())
	}
	// Member 2 went too, but its machine wrote its record again since.
	back := f.gone(2, "terminated")
	rec := testRecord(2, "us-east-1b") // a new key, later than the status change
	f.s3.mu.Lock()
	f.s3.now = f.clock.Now().Add(time.Second)
	f.s3.mu.Unlock()
	if err := newTestRegistry(t, f.s3, nil).Register(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * time.Hour)
	if n := f.pass(p); n != 2 {
		t.Fatalf("deleted %d keys, want 2 (member 1's, and member 2's older key)", n)
	}
	if f.hasRecord(left) {
		t.Fatal("the record of the member gone for prune_after is still there")
	}
	objs, _ := f.reg.listPrefix(context.Background(), f.reg.nodePrefix(back))
	if len(objs) != 1 || !strings.Contains(objs[0].key, "us-east-1b") {
		t.Fatalf("member 2 has keys %v, want only the one written after it went", objs)
	}
	// Nothing left to do: the next passes make no request.
	f.resetOps()
	f.clock.Advance(time.Hour)
	f.pass(p)
	f.pass(p)
	if n := f.requests(); n != 0 {
		t.Fatalf("%d requests once everything stale is pruned, want 0", n)
	}
}

// EC2 has the last word: a stopped instance, or a running one whose agent
// died, keeps its record; a terminated or unknown one loses it.
func TestPruneAsksEC2(t *testing.T) {
	f := newPruneFarm(t, 5)
	p := f.pruner(0, nil)
	stopped := f.gone(1, "stopped")
	silent := f.gone(2, "running")
	terminated := f.gone(3, "terminated")
	missing := f.gone(4, "")
	f.clock.Advance(2 * time.Hour)
	if n := f.pass(p); n != 2 {
		t.Fatalf("deleted %d records, want 2", n)
	}
	for name, want := range map[string]bool{stopped: true, silent: true, terminated: false, missing: false} {
		if f.hasRecord(name) != want {
			t.Errorf("record of %s present = %v, want %v", name, !want, want)
		}
	}
	// The kept ones are not asked about again at every pass.
	asks := f.ec2Asks
	f.clock.Advance(time.Minute)
	f.pass(p)
	if f.ec2Asks != asks {
		t.Fatalf("EC2 asked again a minute later about instances it said are there")
	}
}

// A role without ec2:DescribeInstances: one clear log line, then pruning
// goes on on gossip evidence alone, without asking EC2 again.
func TestPruneWithoutEC2PermissionLogsOnceAndPrunes(t *testing.T) {
	f := newPruneFarm(t, 4)
	logs, logger := newLogBuffer()
	f.ec2Err = fmt.Errorf("UnauthorizedOperation: You are not authorized to perform this operation: %w", ErrEC2NotAllowed)
	p := f.pruner(0, func(c *PruneConfig) { c.Logger = logger })
	a := f.gone(1, "running")
	f.clock.Advance(2 * time.Hour)
	if n := f.pass(p); n != 1 || f.hasRecord(a) {
		t.Fatalf("deleted %d, want member 1's record on gossip evidence", n)
	}
	b := f.gone(2, "running")
	f.clock.Advance(2 * time.Hour)
	if n := f.pass(p); n != 1 || f.hasRecord(b) {
		t.Fatalf("deleted %d, want member 2's record", n)
	}
	if f.ec2Asks != 1 {
		t.Fatalf("EC2 asked %d times, want once", f.ec2Asks)
	}
	if n := logs.CountLines("may not call ec2:DescribeInstances"); n != 1 {
		t.Fatalf("%d log lines about the missing permission, want 1:\n%s", n, logs)
	}
}

// A mass death is pruned at the cluster's bounded rate: Batch members a
// pass, oldest first.
func TestPruneRateIsBounded(t *testing.T) {
	f := newPruneFarm(t, 30)
	p := f.pruner(0, func(c *PruneConfig) { c.Batch = 4 })
	for i := 1; i < 30; i++ {
		f.gone(i, "terminated")
		f.clock.Advance(time.Second)
	}
	f.clock.Advance(2 * time.Hour)
	total := 0
	for pass := 1; total < 29; pass++ {
		f.resetOps()
		n := f.pass(p)
		if n > 4 || f.requests() > 2*4 {
			t.Fatalf("pass %d deleted %d records with %d requests, want at most 4 (1 LIST + 1 DELETE each)", pass, n, f.requests())
		}
		if pass == 1 && f.hasRecord(testRecord(1, "").Name) {
			t.Fatal("the oldest death was not pruned first")
		}
		total += n
		if pass > 10 {
			t.Fatalf("only %d of 29 pruned after 10 passes", total)
		}
	}
}
