package coordinator

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/membership"
)

// shutdownTimeout bounds the final ledger write and lease release.
const shutdownTimeout = 5 * time.Second

// Coordinator replaces dead nodes while it holds the cluster's S3 lease.
// Run drives it; Plan, Status and History are safe to call concurrently.
type Coordinator struct {
	cfg    Config
	ec2    EC2API
	reader ec2Reader
	obs    *observer
	store  ObjectStore
	view   View
	holder string
	lease  *lease
	led    *ledger
	pub    *publisher
	poke   chan struct{}
	active atomic.Bool
	// announced is the epoch whose acquisition was recorded (tick only).
	announced uint64
	// lastEC2 is when the last round that asked EC2 began, lastUpkeep
	// when the last pruning and ledger write did (tick only).
	lastEC2, lastUpkeep time.Time

	mu     sync.Mutex
	frozen map[string]string // group -> freeze reason, as of the last tick
}

// New checks cfg and returns a Coordinator that names itself after the
// view's local member. A nil Clock or Logger gets the default.
func New(cfg Config, ec2 EC2API, store ObjectStore, view View) (*Coordinator, error) {
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if ec2 == nil || store == nil || view == nil {
		return nil, errors.New("coordinator: New needs an EC2 client, an S3 client and a member view")
	}
	holder := view.LocalMember().Name
	if holder == "" {
		return nil, errors.New("coordinator: the local member has no name: start membership before the coordinator")
	}
	cfg.Groups = slices.Clone(cfg.Groups)
	cfg.LeaseMargin = cfg.leaseMargin()
	c := &Coordinator{
		cfg:    cfg,
		ec2:    ec2,
		reader: ec2Reader{api: ec2},
		obs:    &observer{reader: ec2Reader{api: ec2}, cluster: cfg.Cluster},
		store:  store,
		view:   view,
		holder: holder,
		led:    newLedger(store, cfg.Bucket, cfg.Prefix+"ledger.json", cfg.Cluster, cfg.Logger),
		poke:   make(chan struct{}, 1),
		frozen: map[string]string{},
	}
	c.pub = &publisher{store: store, bucket: cfg.Bucket, key: cfg.Prefix + ViewObject, clock: cfg.Clock, log: cfg.Logger}
	c.lease = &lease{
		store: store, bucket: cfg.Bucket, key: cfg.Prefix + "lease", self: holder,
		ttl: cfg.LeaseTTL, margin: cfg.LeaseMargin, interval: cfg.Interval, clock: cfg.Clock,
		firstEpoch: c.firstEpoch,
	}
	return c, nil
}

// Run ticks every Interval (or on Trigger) until ctx ends: renew or acquire
// the lease, then, while leader, plan and act. On exit it writes the ledger
// and releases the lease. It returns nil when ctx is canceled.
//
// A tick may come sooner than Interval (a membership event, a death
// reaching DeadGrace), but it never makes more calls than one round per
// Interval allows: a follower reads the lease at most once per Interval,
// and the leader makes at most one DescribeInstances per Interval (see
// observer). A tick that needs EC2 before its turn is put off until then.
func (c *Coordinator) Run(ctx context.Context) error {
	if !c.active.CompareAndSwap(false, true) {
		return errors.New("coordinator: Run is already running: call it once")
	}
	defer c.active.Store(false)
	t := c.cfg.Clock.NewTicker(c.cfg.Interval)
	defer t.Stop()
	for {
		deferred := c.tick(ctx)
		// Wake when the next death becomes due (dead_grace, or the end of
		// its batch window), or when work put off for the EC2 budget may
		// run, rather than up to one Interval later.
		var due <-chan time.Time
		d, ok := c.nextDue()
		if !deferred.IsZero() {
			if w := deferred.Sub(c.cfg.Clock.Now()); !ok || w < d {
				d, ok = max(w, 0), true
			}
		}
		if ok && d < c.cfg.Interval {
			due = c.cfg.Clock.After(d)
		}
		select {
		case <-ctx.Done():
			c.shutdown(ctx)
			return nil
		case <-t.Chan():
		case <-c.poke:
		case <-due:
		}
	}
}

// nextDue is how long until a dead member not yet handled passes
// DeadGrace, or until its batch window closes, whichever comes first; ok
// is false when nothing is pending.
func (c *Coordinator) nextDue() (d time.Duration, ok bool) {
	now := c.cfg.Clock.Now()
	st := c.led.snapshot()
	for _, m := range c.view.Members() {
		if m.Status != membership.StatusDead || st.handled(m.Name) {
			continue
		}
		for _, at := range []time.Time{m.Since.Add(c.cfg.DeadGrace), m.Since.Add(c.cfg.DeadGrace + c.cfg.BatchWindow)} {
			if w := at.Sub(now); w > 0 && (!ok || w < d) {
				d, ok = w, true
			}
		}
	}
	return d, ok
}

// Trigger asks Run for a tick now (e.g. on a membership event), without
// waiting for Interval. It never blocks.
func (c *Coordinator) Trigger() {
	select {
	case c.poke <- struct{}{}:
	default:
	}
}

// tick is one round: lease, plan, act, prune, clean up, persist. It
// returns when work it put off for the EC2 budget may run (zero if none).
func (c *Coordinator) tick(ctx context.Context) (deferred time.Time) {
	c.led.beginTick()
	prevEpoch := c.lease.epoch()
	ev, err := c.lease.step(ctx)
	switch ev {
	case leaseAcquired:
		c.led.unload()
	case leaseLost:
		c.led.unload()
		c.decide(Decision{Epoch: prevEpoch, Action: ActionLease, Code: CodeLost, Reason: fmt.Sprintf("lease lost, stopped acting: %v", err)})
	}
	if err != nil && ev == leaseNone {
		c.fail(ctx, CodeLeaseError, "lease", err)
	}
	if !c.lease.canAct() {
		return time.Time{}
	}
	if !c.led.isLoaded() {
		if err := c.led.load(ctx, c.lease.epoch()); err != nil {
			c.fail(ctx, CodeLedgerError, "ledger", err)
			return time.Time{}
		}
	}
	if e := c.lease.epoch(); e != c.announced {
		c.announced = e
		c.decide(Decision{Action: ActionLease, Code: CodeAcquired, Reason: fmt.Sprintf("lease acquired, epoch %d", e)})
	}
	now := c.cfg.Clock.Now()
	observe := func(context.Context, []string) (observation, error) { return c.obs.cached(), nil }
	if c.needEC2(now) {
		if next := c.lastEC2.Add(c.cfg.Interval); !c.lastEC2.IsZero() && now.Before(next) {
			return next
		}
		observe = func(ctx context.Context, cands []string) (observation, error) {
			c.lastEC2 = now
			return c.obs.round(ctx, now, cands)
		}
	}
	p, err := c.plan(ctx, observe)
	if err != nil {
		c.fail(ctx, CodeEC2Unavailable, "plan", err)
		return time.Time{}
	}
	c.recordPlan(&p)
	if err := c.act(ctx, &p); err != nil {
		code := CodeLedgerError
		if errors.Is(err, errNotLeader) {
			code = CodeNotLeader
		}
		c.fail(ctx, code, "act", err)
		return time.Time{}
	}
	c.publishView(ctx)
	// Upkeep (pruning records, retried while it fails, and writing the
	// ledger when only decisions or bookkeeping changed) runs at most once
	// per Interval: a storm of events makes ticks, not S3 requests. What a
	// launch needs written is written by the actor before and after its
	// call.
	if next := c.lastUpkeep.Add(c.cfg.Interval); !c.lastUpkeep.IsZero() && now.Before(next) {
		return time.Time{}
	}
	c.lastUpkeep = now
	c.prune(ctx)
	c.cleanup()
	if err := c.persist(ctx); err != nil {
		c.fail(ctx, CodeLedgerError, "ledger", err)
	}
	return time.Time{}
}

// needEC2 reports whether this round's plan needs EC2's evidence: a dead
// member to judge, a pending batch, or a group short of its minimum
// (launches not yet joined must be counted before a top-up, and a launch
// that never joins keeps its group short, so it keeps being reported). A
// healthy cluster's leader makes no EC2 call at all.
func (c *Coordinator) needEC2(now time.Time) bool {
	st := c.led.snapshot()
	members := c.view.Members()
	if len(candidates(&c.cfg, now, members, &st)) > 0 {
		return true
	}
	for _, b := range st.Batches {
		if b.pending() {
			return true
		}
	}
	for _, g := range c.cfg.Groups {
		n := 0
		for _, m := range groupMembers(members, g.role()) {
			if m.Status == membership.StatusAlive || m.Status == membership.StatusSuspect || (m.Status == membership.StatusDead && !st.handled(m.Name)) {
				n++
			}
		}
		if n < g.Min {
			return true
		}
	}
	return false
}

// fail records an error decision, unless ctx is over (a clean exit).
func (c *Coordinator) fail(ctx context.Context, code, what string, err error) {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return
	}
	c.decide(Decision{Action: ActionError, Code: code, Reason: fmt.Sprintf("%s: %v", what, err)})
}

// decide stamps a decision with time, epoch and holder and records it.
func (c *Coordinator) decide(d Decision) {
	if d.Time.IsZero() {
		d.Time = c.cfg.Clock.Now()
	}
	if d.Epoch == 0 {
		d.Epoch = c.lease.epoch()
	}
	d.Holder = c.holder
	if c.led.record(&d) && c.cfg.OnDecision != nil {
		c.cfg.OnDecision(d)
	}
}

// persist writes the ledger under the current epoch.
func (c *Coordinator) persist(ctx context.Context) error {
	return c.led.persist(ctx, c.lease.epoch(), c.holder, c.cfg.Clock.Now())
}

// firstEpoch is the epoch of a lease created from nothing: one above the
// ledger's, so epochs never repeat even if the lease object is deleted.
func (c *Coordinator) firstEpoch(ctx context.Context) (uint64, error) {
	st, _, err := readLedger(ctx, c.store, c.cfg.Bucket, c.cfg.Prefix+"ledger.json")
	if err != nil {
		return 0, err
	}
	if st == nil {
		return 1, nil
	}
	return st.Epoch + 1, nil
}

// Plan returns what the coordinator would do now and why, without acting
// or recording anything. A node that is not leader plans from the ledger
// object as stored in S3. It asks EC2 afresh (up to two DescribeInstances,
// see observer.full): an operator's question, outside the tick's budget.
func (c *Coordinator) Plan(ctx context.Context) (Plan, error) {
	return c.plan(ctx, func(ctx context.Context, cands []string) (observation, error) {
		return c.obs.full(ctx, c.cfg.Clock.Now(), cands)
	})
}

func (c *Coordinator) plan(ctx context.Context, observe func(context.Context, []string) (observation, error)) (Plan, error) {
	var st ledgerState
	if c.led.isLoaded() {
		st = c.led.snapshot()
	} else {
		loaded, _, err := readLedger(ctx, c.store, c.cfg.Bucket, c.cfg.Prefix+"ledger.json")
		if err != nil {
			return Plan{}, err
		}
		if loaded == nil {
			loaded = &ledgerState{}
		}
		st = *loaded
	}
	return makePlan(ctx, planInput{
		cfg: &c.cfg, now: c.cfg.Clock.Now(), holder: c.holder, leader: c.lease.canAct(), epoch: c.lease.epoch(),
		members: c.view.Members(), st: st, observe: observe,
	})
}

// recordPlan records the plan's decisions and the groups' freeze changes.
func (c *Coordinator) recordPlan(p *Plan) {
	for _, g := range p.Groups {
		c.mu.Lock()
		was, wasFrozen := c.frozen[g.Name]
		if g.Frozen {
			c.frozen[g.Name] = g.FreezeReason
		} else {
			delete(c.frozen, g.Name)
		}
		c.mu.Unlock()
		ev := &Evidence{QuorumAlive: p.Quorum.Alive, QuorumTotal: p.Quorum.Total, GroupUnhealthy: g.Health.Unhealthy(), GroupSize: g.Health.size(g.Min)}
		switch {
		case g.Frozen && !wasFrozen:
			c.decide(Decision{Action: ActionFreeze, Code: CodeFrozen, Group: g.Name, Reason: g.FreezeReason, Evidence: ev})
		case !g.Frozen && wasFrozen:
			c.decide(Decision{Action: ActionThaw, Code: CodeOK, Group: g.Name, Reason: "group healthy again (was: " + was + ")", Evidence: ev})
		}
	}
	for _, d := range p.Decisions {
		c.decide(d)
	}
}

// prune deletes the registry records of replaced nodes whose replacement
// was launched; failures are retried next tick.
func (c *Coordinator) prune(ctx context.Context) {
	if c.cfg.Prune == nil || c.cfg.DryRun {
		return
	}
	st := c.led.snapshot()
	for _, b := range st.Batches {
		if b.pending() {
			continue
		}
		for _, id := range b.Unpruned {
			if !c.lease.canAct() {
				return
			}
			if err := c.cfg.Prune(ctx, id); err != nil {
				c.decide(Decision{Action: ActionError, Code: CodePruneFailed, Group: b.Group, Instance: id, Batch: b.ID,
					Reason: fmt.Sprintf("deleting the registry record failed, retried next tick: %v", err)})
				continue
			}
			c.led.update(func(st *ledgerState) {
				if sb := st.batch(b.ID); sb != nil {
					sb.Unpruned = slices.DeleteFunc(sb.Unpruned, func(x string) bool { return x == id })
				}
			})
			c.decide(Decision{Action: ActionPrune, Code: CodeOK, Group: b.Group, Instance: id, Batch: b.ID, Reason: "registry record of the replaced node deleted"})
		}
	}
}

// cleanup drops finished batches (launched, pruned, and every instance
// joined or past NewInstanceGrace), launch times outside the window, and
// replaced ids older than Retention that have left the view.
func (c *Coordinator) cleanup() {
	now := c.cfg.Clock.Now()
	inView := map[string]bool{}
	for _, m := range c.view.Members() {
		inView[m.Name] = true
	}
	st := c.led.snapshot()
	changed := false
	finished := func(b *Batch) bool {
		if b.pending() || (len(b.Unpruned) > 0 && c.cfg.Prune != nil) {
			return false
		}
		if now.Sub(b.LaunchedAt) >= c.cfg.NewInstanceGrace {
			return true
		}
		for _, id := range b.Launched {
			if !inView[id] {
				return false
			}
		}
		return true
	}
	for i := range st.Batches {
		changed = changed || finished(&st.Batches[i])
	}
	cutoff := now.Add(-c.cfg.ReplacementWindow)
	for _, l := range st.Launches {
		changed = changed || !l.After(cutoff)
	}
	for id, t := range st.Replaced {
		changed = changed || (now.Sub(t) >= c.cfg.Retention && !inView[id])
	}
	if !changed {
		return
	}
	c.led.update(func(st *ledgerState) {
		st.Batches = slices.DeleteFunc(st.Batches, func(b Batch) bool { return finished(&b) })
		st.Launches = slices.DeleteFunc(st.Launches, func(l time.Time) bool { return !l.After(cutoff) })
		for id, t := range st.Replaced {
			if now.Sub(t) >= c.cfg.Retention && !inView[id] {
				delete(st.Replaced, id)
			}
		}
	})
}

// shutdown writes the ledger and releases the lease, with a bounded time.
func (c *Coordinator) shutdown(ctx context.Context) {
	ctx, cancel := clockwork.WithTimeout(context.WithoutCancel(ctx), c.cfg.Clock, shutdownTimeout)
	defer cancel()
	epoch := c.lease.epoch()
	if epoch == 0 {
		return
	}
	c.decide(Decision{Action: ActionLease, Code: CodeReleased, Reason: fmt.Sprintf("lease released at shutdown, epoch %d", epoch)})
	if c.led.isLoaded() {
		if err := c.persist(ctx); err != nil {
			c.cfg.Logger.Warn("final ledger write failed", "error", err)
		}
	}
	if _, err := c.lease.release(ctx); err != nil {
		c.cfg.Logger.Warn("lease release failed: a successor waits lease_ttl", "error", err)
	}
	c.led.unload()
}

// group returns the configured group with the given name.
func (c *Coordinator) group(name string) (Group, bool) {
	for _, g := range c.cfg.Groups {
		if g.Name == name {
			return g, true
		}
	}
	return Group{}, false
}
