package coordinator

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/farmhand/farmhand/membership"
)

// Plan is what the coordinator would do now and why. Computing it has no
// side effects (it reads the view, the ledger and EC2).
type Plan struct {
	// Time is when the plan was made.
	Time time.Time `json:"time"`
	// Holder is this node; Leader is set when it may act now.
	Holder string `json:"holder"`
	Leader bool   `json:"leader"`
	// Epoch is the lease epoch this node leads in (0: not leader).
	Epoch uint64 `json:"epoch"`
	// DryRun is set when no EC2 mutation will be made.
	DryRun bool `json:"dry_run"`
	// Quorum is the leader's view of the cluster.
	Quorum Quorum `json:"quorum"`
	// Groups is the plan of each configured group.
	Groups []GroupPlan `json:"groups"`
	// Resume are ledger batches whose RunInstances has not yet succeeded;
	// they are reissued with their recorded ClientToken.
	Resume []Batch `json:"resume,omitempty"`
	// Formed is set when the ledger has recorded the cluster at quorum;
	// until then Quorum may be the bootstrap quorum (Quorum.Bootstrap).
	Formed bool `json:"formed"`
	// Decisions are the verdicts and gate results, with evidence.
	Decisions []Decision `json:"decisions"`

	// witnesses are EC2's answers, kept for the actor.
	witnesses map[string]witness
}

// GroupPlan is the plan of one group.
type GroupPlan struct {
	// Name, Role, Min and Max are the group's configuration.
	Name string `json:"name"`
	Role string `json:"role"`
	Min  int    `json:"min"`
	Max  int    `json:"max"`
	// Health counts the group's members by gossip status.
	Health Health `json:"health"`
	// Pending counts launches that have not joined gossip yet.
	Pending int `json:"pending"`
	// Current is alive + suspect + dead not yet replaced + left but stopped
	// or restarting (judgeLeft) + pending: what is compared with Max. Draining members are not counted (they are going
	// away); for Min, those not yet replaced are added (their replacement
	// is decided one for one, not by the top-up).
	Current int `json:"current"`
	// Frozen is set when the group is frozen; FreezeReason says why.
	Frozen       bool   `json:"frozen"`
	FreezeReason string `json:"freeze_reason,omitempty"`
	// Replace are the instances to replace now: dead ones, and those
	// replaced at a notice (Keep).
	Replace []string `json:"replace"`
	// Keep are the members of Replace replaced at a notice (draining, or a
	// rebalance recommendation): still running, they are not terminated.
	Keep []string `json:"keep,omitempty"`
	// TopUp is how many instances to add to reach Min.
	TopUp int `json:"top_up"`
}

// planInput is everything a plan is computed from.
type planInput struct {
	cfg     *Config
	now     time.Time
	holder  string
	leader  bool
	epoch   uint64
	members []membership.Member
	st      ledgerState
	// owned maps instances EC2 has shown to belong to an Auto Scaling
	// group to the group (tick memory): they are not asked about again.
	owned map[string]string
	// observe gathers EC2's evidence on the candidates (see observer); it
	// is called only when the leader has quorum.
	observe func(ctx context.Context, candidates []string) (observation, error)
}

// candidates are the instances EC2 is asked about: dead members past
// DeadGrace not yet handled, members that announced a notice (draining, or
// a rebalance recommendation when OnRebalance is "replace") not yet
// handled, and those of the batches still pending.
//
// An instance EC2 has shown to belong to an Auto Scaling group (owned) is
// not asked about again: the aws:autoscaling:groupName tag stays with the
// instance, and a dead group instance would otherwise cost a
// DescribeInstances every interval until gossip reaps it.
func candidates(cfg *Config, now time.Time, members []membership.Member, st *ledgerState, owned map[string]string) []string {
	var ask []string
	for _, g := range cfg.Groups {
		for _, m := range groupMembers(members, g.role()) {
			if st.handled(m.Name) || !instanceIDPattern.MatchString(m.Name) || owned[m.Name] != "" {
				continue
			}
			if m.Status == membership.StatusDead && now.Sub(m.Since) >= cfg.DeadGrace || noticed(cfg, m) {
				ask = append(ask, m.Name)
			}
		}
	}
	for _, b := range st.Batches {
		if b.pending() {
			ask = append(ask, b.Replaces...)
		}
	}
	return ask
}

// noticed reports whether m announced that it is going away and is to be
// replaced at the notice: draining, or alive with a rebalance
// recommendation when OnRebalance is "replace".
func noticed(cfg *Config, m membership.Member) bool {
	return m.Status == membership.StatusDraining || rebalancing(m) && cfg.OnRebalance == RebalanceReplace
}

// makePlan judges every dead, left or noticed member, applies the gates and
// sizes the top-ups. EC2 is asked only when the leader has quorum, or, in a
// cluster that has never formed, to count the bootstrap quorum.
func makePlan(ctx context.Context, in planInput) (Plan, error) {
	cfg := in.cfg
	p := Plan{Time: in.now, Holder: in.holder, Leader: in.leader, Epoch: in.epoch, DryRun: cfg.DryRun, witnesses: map[string]witness{}}
	p.Quorum = clusterQuorum(in.members, cfg.Groups)
	p.Formed = !in.st.Formed.IsZero()
	inView := make(map[string]membership.Member, len(in.members))
	for _, m := range in.members {
		inView[m.Name] = m
	}

	var cluster, scan map[string]instanceInfo
	observed := false
	observe := func() error {
		obs, err := in.observe(ctx, candidates(cfg, in.now, in.members, &in.st, in.owned))
		if err != nil {
			return err
		}
		cluster, scan, p.witnesses, observed = obs.cluster, obs.scan, obs.witnesses, true
		return nil
	}
	// A cluster the ledger has never recorded at quorum is new: it grows
	// from its seed, and its quorum is counted against the members and
	// instances that exist rather than the group minimums it has not
	// reached (bootstrapQuorum). Once formed, never again.
	if !p.Quorum.OK && !p.Formed {
		if err := observe(); err != nil {
			return p, err
		}
		p.Quorum = bootstrapQuorum(in.members, cluster)
		p.Decisions = append(p.Decisions, Decision{Time: in.now, Epoch: in.epoch, Holder: in.holder, Action: ActionReport, Code: CodeBootstrap,
			Reason:   fmt.Sprintf("a new cluster (the ledger has never recorded it at quorum): quorum is %d of the %d members and %s-tagged instances that exist, not of the group minimums; ok=%t", p.Quorum.Alive, p.Quorum.Total, TagCluster, p.Quorum.OK),
			Evidence: &Evidence{QuorumAlive: p.Quorum.Alive, QuorumTotal: p.Quorum.Total, Bootstrap: true}})
	}
	if p.Quorum.OK {
		for _, b := range in.st.Batches {
			if b.pending() {
				p.Resume = append(p.Resume, b)
			}
		}
		if !observed {
			if err := observe(); err != nil {
				return p, err
			}
		}
	}

	budget := cfg.MaxReplacements - in.st.launchesSince(in.now.Add(-cfg.ReplacementWindow))
	for _, g := range cfg.Groups {
		gp, decisions := planGroup(in, g, p.Quorum, inView, cluster, scan, p.witnesses, &budget)
		p.Groups = append(p.Groups, gp)
		p.Decisions = append(p.Decisions, decisions...)
	}
	return p, nil
}

// planGroup plans one group; budget is the rate limit left, shared by all
// groups in configuration order.
func planGroup(in planInput, g Group, q Quorum, inView map[string]membership.Member, cluster, scan map[string]instanceInfo, wit map[string]witness, budget *int) (GroupPlan, []Decision) {
	cfg, now := in.cfg, in.now
	members := groupMembers(in.members, g.role())
	h := groupHealth(members)
	gp := GroupPlan{Name: g.Name, Role: g.role(), Min: g.Min, Max: g.Max, Health: h, Replace: []string{}}
	gp.Frozen, gp.FreezeReason = freezeVerdict(h, g.Min, cfg.FreezeThreshold)
	gp.Pending = pendingLaunches(g, &in.st, cluster, inView, now, cfg.NewInstanceGrace)
	// A left member keeps its place while its instance is stopped (within
	// stopped_grace) or restarting: EC2's word from the last scan.
	leftWitness := func(m membership.Member) witness {
		info, ok := scan[m.Name]
		return witness{Asked: scan != nil, Found: ok, State: info.State, LaunchTime: info.LaunchTime, ASGroup: info.Tags[TagASGroup]}
	}
	unreplaced, drainingUp, held := 0, 0, 0
	for _, m := range members {
		switch {
		case in.st.handled(m.Name):
		case m.Status == membership.StatusDead:
			unreplaced++
		case m.Status == membership.StatusDraining:
			drainingUp++
		case m.Status == membership.StatusLeft && judgeLeft(cfg, now, m, leftWitness(m)).held():
			held++
		}
	}
	gp.Current = h.Alive + h.Suspect + unreplaced + held + gp.Pending

	var out []Decision
	decide := func(action Action, code, reason, instance string, ev *Evidence) {
		out = append(out, Decision{Time: now, Epoch: in.epoch, Holder: in.holder, Action: action, Code: code, Reason: reason,
			Group: g.Name, Instance: instance, DryRun: cfg.DryRun && (action == ActionReplace || action == ActionTopUp), Evidence: ev})
	}
	evidence := func(m membership.Member, w witness) *Evidence {
		return &Evidence{GossipStatus: m.Status, GossipSince: m.Since, EC2State: w.stateString(), EC2Status: w.Status, LaunchTime: w.LaunchTime, ASGroup: w.ASGroup,
			QuorumAlive: q.Alive, QuorumTotal: q.Total, Bootstrap: q.Bootstrap, GroupUnhealthy: h.Unhealthy(), GroupSize: h.size(g.Min)}
	}

	// Judge members, oldest death first.
	slices.SortFunc(members, func(a, b membership.Member) int {
		return cmp.Or(a.Since.Compare(b.Since), cmp.Compare(a.Name, b.Name))
	})
	type candidate struct {
		m membership.Member
		w witness
		v verdict
	}
	var replace []candidate
	for _, m := range members {
		if m.Status != membership.StatusDead && m.Status != membership.StatusLeft && m.Status != membership.StatusDraining && !rebalancing(m) || in.st.handled(m.Name) {
			continue
		}
		w := wit[m.Name]
		switch {
		case m.Status == membership.StatusLeft:
			w = leftWitness(m)
		case in.owned[m.Name] != "":
			w = witness{Asked: true, Found: true, ASGroup: in.owned[m.Name]}
		}
		if w.LaunchTime.IsZero() {
			w.LaunchTime = in.st.launchedAt(m.Name)
		}
		v := judge(cfg, now, m, q, w)
		if v.Action == ActionReplace {
			replace = append(replace, candidate{m, w, v})
			continue
		}
		decide(v.Action, v.Code, v.Reason, m.Name, evidence(m, w))
	}

	// A burst of deaths is replaced in one launch: while other members of
	// the group are dead but short of DeadGrace, and will pass it before
	// the oldest dead candidate has waited BatchWindow, hold the dead
	// candidates. A notice is never held: its deadline is EC2's.
	if i := slices.IndexFunc(replace, func(c candidate) bool { return c.m.Status == membership.StatusDead }); i >= 0 {
		if hold, why := batchHold(cfg, now, members, &in.st, replace[i].m.Since); hold {
			replace = slices.DeleteFunc(replace, func(c candidate) bool {
				if c.m.Status != membership.StatusDead {
					return false
				}
				decide(ActionSkip, CodeBatching, why, c.m.Name, evidence(c.m, c.w))
				return true
			})
		}
	}

	// Gates, in order: freeze, max, rate limit; dry run only marks. A dead
	// member is in Current and is terminated before its replacement, so
	// replacing it leaves Current unchanged; a member replaced at a notice
	// stays up until EC2 ends it, so its replacement adds one (a draining
	// member is not in Current: it does not count against max).
	dead := 0
	for _, c := range replace {
		if c.m.Status == membership.StatusDead {
			dead++
		}
	}
	allowedByMax := max(0, g.Max-(gp.Current-dead))
	added := 0 // replacements that add to Current
	for _, c := range replace {
		m, w, v := c.m, c.w, c.v
		switch {
		case gp.Frozen:
			decide(ActionSkip, CodeFrozen, "would replace ("+v.Reason+") but the group is frozen: "+gp.FreezeReason, m.Name, evidence(m, w))
		case len(gp.Replace) >= allowedByMax:
			decide(ActionSkip, CodeMaxReached, fmt.Sprintf("would replace (%s) but the group would exceed max %d", v.Reason, g.Max), m.Name, evidence(m, w))
		case *budget <= 0:
			decide(ActionSkip, CodeRateLimited, fmt.Sprintf("would replace (%s) but %d launches were made in the last %s (max_replacements)", v.Reason, cfg.MaxReplacements, cfg.ReplacementWindow), m.Name, evidence(m, w))
		default:
			*budget--
			gp.Replace = append(gp.Replace, m.Name)
			if m.Status != membership.StatusDead {
				gp.Keep = append(gp.Keep, m.Name)
				added++
			}
			decide(ActionReplace, v.Code, v.Reason, m.Name, evidence(m, w))
		}
	}

	// Top up to Min. A draining member not yet replaced is counted until it
	// is gone (its replacement is one for one, above, never a top-up too),
	// and so is a replacement decided this tick.
	groupEv := &Evidence{QuorumAlive: q.Alive, QuorumTotal: q.Total, Bootstrap: q.Bootstrap, GroupUnhealthy: h.Unhealthy(), GroupSize: h.size(g.Min)}
	have := gp.Current + drainingUp
	if short := g.Min - have; short > 0 && q.OK && !gp.Frozen {
		room := g.Max - gp.Current - added
		n := min(short, max(0, room), max(0, *budget))
		counts := fmt.Sprintf("%d alive, %d suspect, %d dead not yet replaced, %d draining not yet replaced, %d left but stopped or restarting, %d pending", h.Alive, h.Suspect, unreplaced, drainingUp, held, gp.Pending)
		if n > 0 {
			*budget -= n
			gp.TopUp = n
			reason := fmt.Sprintf("group has %d of min %d (%s): launching %d", have, g.Min, counts, n)
			if q.Bootstrap {
				reason += fmt.Sprintf("; a new cluster growing from its seed (quorum %d of the %d members and instances that exist)", q.Alive, q.Total)
			}
			decide(ActionTopUp, CodeBelowMin, reason, "", groupEv)
		}
		if n < short {
			code, why := CodeRateLimited, fmt.Sprintf("max_replacements %d per %s", cfg.MaxReplacements, cfg.ReplacementWindow)
			if room < short {
				code, why = CodeMaxReached, fmt.Sprintf("max %d", g.Max)
			}
			decide(ActionSkip, code, fmt.Sprintf("group has %d of min %d (%s): %d more held back by %s", have, g.Min, counts, short-n, why), "", groupEv)
		}
	}

	// Launches that never joined.
	for _, id := range sortedKeys(cluster) {
		inst := cluster[id]
		if _, ok := inView[id]; ok || inst.Tags[TagGroup] != g.Name || now.Sub(inst.LaunchTime) < cfg.NewInstanceGrace {
			continue
		}
		decide(ActionReport, CodeNotJoined, fmt.Sprintf("instance launched %s ago (EC2 %s) has not joined gossip: counted as pending; check its agent", now.Sub(inst.LaunchTime).Round(time.Second), inst.State), id,
			&Evidence{EC2State: string(inst.State), LaunchTime: inst.LaunchTime, QuorumAlive: q.Alive, QuorumTotal: q.Total})
	}
	return gp, out
}

// pendingLaunches counts the group's launches that are not members yet:
// batches whose RunInstances has not returned, plus instances EC2 reports
// pending or running with the cluster and group tags, plus instances the
// ledger saw launched within grace that EC2 does not list yet (eventual
// consistency).
func pendingLaunches(g Group, st *ledgerState, cluster map[string]instanceInfo, inView map[string]membership.Member, now time.Time, grace time.Duration) int {
	ids := map[string]bool{}
	for id, inst := range cluster {
		if _, ok := inView[id]; !ok && inst.Tags[TagGroup] == g.Name {
			ids[id] = true
		}
	}
	n := 0
	for i := range st.Batches {
		b := &st.Batches[i]
		if b.Group != g.Name {
			continue
		}
		if b.pending() {
			n += b.Count()
			continue
		}
		for _, id := range b.Launched {
			_, member := inView[id]
			_, listed := cluster[id]
			if !member && !listed && now.Sub(b.LaunchedAt) < grace {
				ids[id] = true
			}
		}
	}
	return n + len(ids)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// batchHold says whether to hold this tick's replacement candidates, the
// oldest of which died at oldest, for deaths that will pass DeadGrace
// within what is left of BatchWindow. The wait is bounded: once the oldest
// candidate has been eligible for BatchWindow, nothing holds it.
func batchHold(cfg *Config, now time.Time, members []membership.Member, st *ledgerState, oldest time.Time) (bool, string) {
	if cfg.BatchWindow <= 0 {
		return false, ""
	}
	left := cfg.BatchWindow - now.Sub(oldest.Add(cfg.DeadGrace))
	if left <= 0 {
		return false, ""
	}
	soon := 0
	for _, m := range members {
		if m.Status != membership.StatusDead || st.handled(m.Name) {
			continue
		}
		if wait := m.Since.Add(cfg.DeadGrace).Sub(now); wait > 0 && wait <= left {
			soon++
		}
	}
	if soon == 0 {
		return false, ""
	}
	return true, fmt.Sprintf("batching: %d more dead member(s) pass dead_grace within %s; one launch will cover them", soon, left.Round(time.Millisecond))
}
