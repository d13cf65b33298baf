package coordinator

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"
	"go.uber.org/goleak"

	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed/testutil"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// t0 is the fake clock's start.
var t0 = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// iid is a valid-looking instance id.
func iid(n int) string { return fmt.Sprintf("i-%017x", n) }

// harness is one coordinator on fakes; more coordinators can share its
// store and EC2 through add.
type harness struct {
	t     *testing.T
	clock *clockwork.FakeClock
	ec2   *fakeEC2
	store *fakeStore
	// objects is the store the coordinators use: store, or a real S3
	// server's client (newHarnessOn).
	objects ObjectStore
	view    *fakeView
	cfg     Config
	c       *Coordinator
	pruned  []string
}

const testBucket = "bucket"

// testConfig is a one-group configuration ("workers", min 3, max 10).
func testConfig(clock clockwork.Clock) Config {
	cfg := DefaultConfig()
	cfg.Cluster = "c1"
	cfg.Prefix = "farmhand/c1/"
	cfg.Bucket = testBucket
	cfg.Clock = clock
	cfg.Logger = hclog.NewNullLogger()
	cfg.DeadGrace = time.Minute
	// A stopped instance is replaced once past dead_grace here, as before
	// stopped_grace; gates_test.go's stopped_grace tests set their own.
	cfg.StoppedGrace = time.Minute
	cfg.NewInstanceGrace = 10 * time.Minute
	cfg.MaxReplacements = 50
	cfg.LeaseMargin = 15 * time.Second
	cfg.Groups = []Group{{Name: "workers", Role: "worker", Min: 3, Max: 10, ImageID: "ami-1", InstanceType: "t3.small",
		Subnets: []string{"subnet-a", "subnet-b"}, Tags: map[string]string{"team": "data"}}}
	return cfg
}

func newHarness(t *testing.T, mutate func(*Config)) *harness {
	t.Helper()
	return newHarnessOn(t, nil, mutate)
}

// newHarnessOn is newHarness with the lease and the ledger in objects; nil
// is the in-memory fakeStore.
func newHarnessOn(t *testing.T, objects ObjectStore, mutate func(*Config)) *harness {
	t.Helper()
	clock := clockwork.NewFakeClockAt(t0)
	h := &harness{t: t, clock: clock, ec2: newFakeEC2(clock), store: newFakeStore(),
		view: &fakeView{self: membership.Member{Name: "i-00000000000000c00", Status: membership.StatusAlive, Tags: map[string]string{"role": "coordinator"}}}}
	h.view.put(h.view.self)
	h.cfg = testConfig(clock)
	h.cfg.Prune = func(ctx context.Context, name string) error {
		h.pruned = append(h.pruned, name)
		return nil
	}
	if mutate != nil {
		mutate(&h.cfg)
	}
	h.objects = objects
	if h.objects == nil {
		h.objects = h.store
	}
	c, err := New(h.cfg, h.ec2, h.objects, h.view)
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	return h
}

// member adds a member of role to the view and its instance to EC2
// (launched an hour ago, tagged with the cluster).
func (h *harness) member(n int, role string, status membership.Status, deadFor time.Duration, state ec2types.InstanceStateName, check ec2types.SummaryStatus) string {
	id := iid(n)
	h.view.put(membership.Member{Name: id, Status: status, Since: h.clock.Now().Add(-deadFor), Tags: map[string]string{"role": role}})
	if state != "" {
		h.ec2.add(id, state, check, h.clock.Now().Add(-time.Hour), map[string]string{TagCluster: h.cfg.Cluster, TagGroup: groupOfRole(h.cfg, role)})
	}
	return id
}

func groupOfRole(cfg Config, role string) string {
	for _, g := range cfg.Groups {
		if g.role() == role {
			return g.Name
		}
	}
	return ""
}

// alive adds n alive members of role, numbered from first.
func (h *harness) alive(first, n int, role string) {
	for i := range n {
		h.member(first+i, role, membership.StatusAlive, 0, ec2types.InstanceStateNameRunning, ec2types.SummaryStatusOk)
	}
}

// dead adds a member dead for 2 minutes (past DeadGrace) whose instance is in state.
func (h *harness) dead(n int, role string, state ec2types.InstanceStateName, check ec2types.SummaryStatus) string {
	return h.member(n, role, membership.StatusDead, 2*time.Minute, state, check)
}

// formed writes a ledger that recorded the cluster at quorum an hour ago:
// an existing cluster, whose leader needs the quorum of the group minimums.
func (h *harness) formed() {
	h.t.Helper()
	st := emptyLedgerState(h.cfg.Cluster)
	st.Formed = h.clock.Now().Add(-time.Hour)
	body, err := json.Marshal(&st)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := putConditional(context.Background(), h.objects, h.cfg.Bucket, h.cfg.Prefix+"ledger.json", body, ""); err != nil {
		h.t.Fatal(err)
	}
}

// tick runs one round of c: a tick whose calls are not held back by the
// once-per-interval budgets of the previous tick, however little the clock
// moved (bounds_test.go tests the budgets with c.tick itself). A tick never
// waits on the clock: retries are the SDK's, inside a call, and the fakes
// answer at once.
func (h *harness) tick(c *Coordinator) {
	h.t.Helper()
	c.lastEC2, c.lastUpkeep = time.Time{}, time.Time{}
	c.lease.mu.Lock()
	c.lease.called = time.Time{}
	c.lease.mu.Unlock()
	c.tick(context.Background())
}

// decisions returns the recorded decisions with the given code.
func decisions(c *Coordinator, code string) []Decision {
	var out []Decision
	for _, d := range c.History(0) {
		if d.Code == code {
			out = append(out, d)
		}
	}
	return out
}

// mustDecision fails unless a decision with code (and instance, if given) exists.
func mustDecision(t *testing.T, c *Coordinator, code, instance string) Decision {
	t.Helper()
	for _, d := range decisions(c, code) {
		if instance == "" || d.Instance == instance {
			return d
		}
	}
	t.Fatalf("no decision %q for %q in history: %s", code, instance, historyString(c))
	return Decision{}
}

func historyString(c *Coordinator) string {
	s := ""
	for _, d := range c.History(0) {
		s += fmt.Sprintf("\n  %s/%s %s %s: %s", d.Action, d.Code, d.Group, d.Instance, d.Reason)
	}
	return s
}

// waitFor polls cond until it holds or 5 seconds pass.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	testutil.Run(t, 5*time.Second, func(r *testutil.R) {
		if !cond() {
			r.Errorf("condition not met")
		}
	})
}
