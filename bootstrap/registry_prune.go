package bootstrap

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"
)

// PruneRecord deletes the record keys of name written before before (all
// of them when before is zero): a record written since belongs to a new
// life of the node and stays. It returns how many keys it deleted. Cost:
// 1 LIST, plus 1 DELETE per key.
func (r *Registry) PruneRecord(ctx context.Context, name string, before time.Time) (int, error) {
	if err := checkRecordName("prune", name); err != nil {
		return 0, err
	}
	objs, err := r.listPrefix(ctx, r.nodePrefix(name))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, o := range objs {
		if !before.IsZero() && !o.modified.Before(before) {
			continue
		}
		if err := r.deleteKey(ctx, o.key); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// GoneMember is a member of the gossip view as the pruner needs it.
type GoneMember struct {
	// Name is the member name (the instance id).
	Name string
	// Alive is set for a member alive (not suspect) in the view.
	Alive bool
	// Gone is set for a member dead or left.
	Gone bool
	// Since is when the member's status last changed.
	Since time.Time
}

// ErrEC2NotAllowed is what an InstanceStates function returns when the
// instance role may not call ec2:DescribeInstances.
var ErrEC2NotAllowed = errors.New("ec2:DescribeInstances is not allowed")

// InstanceStates returns the EC2 state ("running", "stopped",
// "terminated", ...) of each of ids that EC2 knows; an id it does not know
// is absent. It fails with ErrEC2NotAllowed (wrapped) when the role lacks
// the permission.
type InstanceStates func(ctx context.Context, ids []string) (map[string]string, error)

// PruneConfig configures a Pruner.
type PruneConfig struct {
	// After is how long a member must have been dead or left in the gossip
	// view before its record is deleted. It must be under the membership
	// reap time (a reaped member is no longer seen). 0 disables pruning.
	After time.Duration
	// Interval is the time between passes; default After/4, between 1 s
	// and 1 minute.
	Interval time.Duration
	// Batch is the most members whose records one pass deletes; default 10.
	// With one pruner in the cluster, Batch per Interval is the cluster's
	// rate.
	Batch int
	// Self is this node's member name.
	Self string
	// Members returns the gossip view.
	Members func() []GoneMember
	// States, when set, asks EC2 about the members before their records go:
	// only a terminated (or shutting-down) or unknown instance is pruned. A
	// role without ec2:DescribeInstances is logged once and pruning goes on
	// on gossip evidence alone.
	States InstanceStates
	// Clock paces the passes; default the real clock.
	Clock clockwork.Clock
	// Logger receives one line per deleted record; default a null logger.
	Logger hclog.Logger
}

// Pruner keeps the registry free of stale records without a coordinator.
// Exactly one agent prunes: the alive member with the lowest name in its
// gossip view, a choice every agent makes alike from its own view, with no
// lease and no S3 request. The others make no request at all. Every
// Interval the pruner deletes the records of at most Batch members dead or
// left for longer than After, oldest first, each verified with EC2 where
// the role allows it.
type Pruner struct {
	reg *Registry
	cfg PruneConfig
	log hclog.Logger

	mu sync.Mutex
	// done maps each member whose records were pruned, or which EC2 said
	// is still there, to the Since it was judged at: it is not judged
	// again until its status changes (or, for EC2, until recheck).
	done map[string]pruneMark
	// denied is set once EC2 refused DescribeInstances.
	denied bool
	// ec2Err is the last EC2 failure logged, so each is logged once.
	ec2Err string
}

// pruneMark is what the pruner did about a member at one status.
type pruneMark struct {
	since time.Time
	// until, when set, is when to ask EC2 again (the instance was there).
	until time.Time
}

// NewPruner returns a pruner of reg's records. It makes no request.
func NewPruner(reg *Registry, cfg PruneConfig) (*Pruner, error) {
	if cfg.After <= 0 {
		return nil, errors.New("registry prune: After must be positive (0 disables pruning: do not start a pruner)")
	}
	if cfg.Self == "" || cfg.Members == nil {
		return nil, errors.New("registry prune: Self and Members are required")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = min(max(cfg.After/4, time.Second), time.Minute)
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 10
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	return &Pruner{reg: reg, cfg: cfg, log: cfg.Logger, done: map[string]pruneMark{}}, nil
}

// Run prunes every Interval until ctx ends.
func (p *Pruner) Run(ctx context.Context) {
	t := p.cfg.Clock.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
			if _, err := p.Pass(ctx); err != nil && ctx.Err() == nil {
				p.log.Warn("pruning stale registry records failed; retrying next pass", "error", err)
			}
		}
	}
}

// Pass is one pruning pass; it returns how many records it deleted. A node
// that is not the pruner returns at once, without a request.
func (p *Pruner) Pass(ctx context.Context) (int, error) {
	members := p.cfg.Members()
	if !p.isPruner(members) {
		return 0, nil
	}
	now := p.cfg.Clock.Now()
	cands := p.candidates(members, now)
	if len(cands) == 0 {
		return 0, nil
	}
	verified, err := p.verify(ctx, cands, now)
	if err != nil {
		return 0, err
	}
	deleted := 0
	for _, m := range verified {
		n, err := p.reg.PruneRecord(ctx, m.Name, m.Since)
		deleted += n
		if err != nil {
			return deleted, err
		}
		p.mark(m, time.Time{})
		if n > 0 {
			p.log.Info("deleted the registry record of a member gone for longer than registry.prune_after",
				"member", m.Name, "gone_since", m.Since.UTC().Format(time.RFC3339), "keys", n)
		}
	}
	return deleted, nil
}

// isPruner reports whether this node is the alive member with the lowest
// name in members.
func (p *Pruner) isPruner(members []GoneMember) bool {
	lowest := ""
	for _, m := range members {
		if m.Alive && (lowest == "" || m.Name < lowest) {
			lowest = m.Name
		}
	}
	return lowest == p.cfg.Self
}

// candidates are the members gone for longer than After and not yet
// handled at their current status, oldest first, at most Batch.
func (p *Pruner) candidates(members []GoneMember, now time.Time) []GoneMember {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []GoneMember
	for _, m := range members {
		if !m.Gone || m.Name == p.cfg.Self || now.Sub(m.Since) < p.cfg.After {
			continue
		}
		if d, ok := p.done[m.Name]; ok && d.since.Equal(m.Since) && (d.until.IsZero() || now.Before(d.until)) {
			continue
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b GoneMember) int { return cmp.Or(a.Since.Compare(b.Since), cmp.Compare(a.Name, b.Name)) })
	return out[:min(len(out), p.cfg.Batch)]
}

// mark remembers that m was handled at its current status; a non-zero
// until asks for another look then.
func (p *Pruner) mark(m GoneMember, until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done[m.Name] = pruneMark{since: m.Since, until: until}
}

// verify keeps the candidates EC2 says are gone (terminated, shutting
// down, or unknown). Without States, or once EC2 refused the call, it
// keeps them all: gossip has held them dead or left for After.
func (p *Pruner) verify(ctx context.Context, cands []GoneMember, now time.Time) ([]GoneMember, error) {
	p.mu.Lock()
	skip := p.cfg.States == nil || p.denied
	p.mu.Unlock()
	if skip {
		return cands, nil
	}
	ids := make([]string, len(cands))
	for i, m := range cands {
		ids[i] = m.Name
	}
	states, err := p.cfg.States(ctx, ids)
	switch {
	case errors.Is(err, ErrEC2NotAllowed):
		p.mu.Lock()
		p.denied = true
		p.mu.Unlock()
		p.log.Warn("the instance role may not call ec2:DescribeInstances: stale registry records are pruned on gossip evidence alone (dead or left for registry.prune_after); allow it to have EC2 confirm each", "error", err)
		return cands, nil
	case err != nil:
		p.mu.Lock()
		again := p.ec2Err != err.Error()
		p.ec2Err = err.Error()
		p.mu.Unlock()
		if again {
			p.log.Warn("cannot ask EC2 about stale registry records; pruning waits for an answer", "error", err)
		}
		return nil, nil
	}
	var out []GoneMember
	for _, m := range cands {
		switch s, known := states[m.Name]; {
		case !known, s == "terminated", s == "shutting-down":
			out = append(out, m)
		default:
			// Stopped is not dead, and a running machine with a silent
			// agent may come back: keep the record, look again later.
			p.mark(m, now.Add(p.cfg.After))
			p.log.Debug("keeping the registry record of a gone member whose instance EC2 still lists", "member", m.Name, "ec2", s)
		}
	}
	return out, nil
}
