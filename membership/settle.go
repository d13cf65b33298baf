package membership

import (
	"context"
	"net"
	"strconv"
)

// Why a join is followed by a few syncs.
//
// A Join is a push/pull with a few members: this node receives their whole
// state, and they start memberlist's rumour about this node (an alive
// broadcast, sent a bounded number of times: RetransmitMult * log10(N)).
// Neither is complete while other nodes join at the same moment, as in a
// fleet's cold start. If X and Z join within the same second:
//
//   - Z's push/pull partners may not have merged X yet (on a loaded machine a
//     push/pull is answered before its own merge), so Z gets no X from them;
//   - X's rumour is sent mostly to members its senders knew before Z, and is
//     used up before Z becomes a target.
//
// Z then lacks X (or X lacks Z) until memberlist's periodic push/pull, which
// it scales with the cluster size to keep its cost flat: 60 s at 50 members,
// 90 s at 100. On real processes this left 2 or 3 of 50 agents without one
// member for about a minute in 6 cold starts out of 7 (docs/design.md, "Cold
// start"). Rumours are probabilistic; the push/pull is the anti-entropy that
// makes membership complete, and a join burst is exactly when it is needed.
//
// So after each successful Join the Cluster pushes and pulls again with one
// random alive member, JoinSyncDelay later (when the members that joined
// alongside it have reached most of the cluster), and again at doubling
// delays while the view keeps growing, at most JoinSyncs times. A sync that
// finds the view quiet ends the series. A node joining a settled cluster makes
// one extra push/pull; a cold start costs each node at most JoinSyncs; a node
// that joined long ago makes none. The cost is bounded per join, not per
// interval, so nothing grows with uptime or with N beyond the push/pull's own
// size.

// settleLoop runs a sync series whenever a Join succeeds.
func (c *Cluster) settleLoop() {
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.settleKick:
		}
		c.settle()
	}
}

// kickSettle starts a sync series (or, while one runs, another after it).
func (c *Cluster) kickSettle() {
	if c.cfg.JoinSyncDelay <= 0 || c.cfg.JoinSyncs <= 0 {
		return
	}
	select {
	case c.settleKick <- struct{}{}:
	default: // one is already pending
	}
}

// settle is one sync series: up to JoinSyncs push/pulls with random alive
// members, the first JoinSyncDelay after the join, each later one twice as
// late, until an interval passes in which the view did not grow.
func (c *Cluster) settle() {
	c.settling.Store(true)
	defer c.settling.Store(false)
	delay := c.cfg.JoinSyncDelay
	for range c.cfg.JoinSyncs {
		before := c.view.numLearned()
		if !c.wait(delay) || c.isLeaving() {
			return
		}
		c.syncOnce()
		if c.view.numLearned() == before {
			return
		}
		delay *= 2
	}
}

// syncOnce pushes and pulls state with one random alive member.
func (c *Cluster) syncOnce() {
	m, ok := c.view.randomAlive()
	if !ok {
		return
	}
	addr := net.JoinHostPort(m.Addr, strconv.Itoa(m.Port))
	c.stats.joinSyncs.Add(1)
	ctx, cancel := context.WithTimeout(c.ctx, c.attemptTimeout())
	defer cancel()
	if _, err := c.join(ctx, []string{addr}); err != nil {
		c.logger.Debug("state sync after join failed", "member", m.Name, "addr", addr, "error", err)
	}
}
