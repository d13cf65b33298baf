package membership

import (
	"context"
	"math/rand/v2"
	"net"
	"strconv"
	"time"

	"github.com/jonboulle/clockwork"
)

// memberlist alone never heals a partition: once both sides have declared
// each other dead, neither probes the other again. Like Serf, the Cluster
// keeps trying to reach dead members, and, when it looks isolated, asks
// Discover (the S3 registry) for fresh candidates.

// startLoops starts the goroutines Shutdown stops: view maintenance,
// reconnecting to dead members and the isolation check.
func (c *Cluster) startLoops() {
	c.goTracked(c.maintainLoop)
	if c.cfg.ReconnectInterval > 0 {
		c.goTracked(c.reconnectLoop)
	}
	if c.cfg.IsolationCheckInterval > 0 && c.cfg.Discover != nil {
		c.goTracked(c.isolationLoop)
	}
	c.goTracked(c.settleLoop)
	c.goTracked(c.recheckLoop)
}

// maintainLoop lapses suspicions and reaps old dead and left members, each
// when it falls due: it sleeps until the view's next deadline, so an idle
// agent is not woken for nothing.
func (c *Cluster) maintainLoop() {
	for {
		var t clockwork.Timer
		var due <-chan time.Time
		if at, ok := c.view.nextDeadline(); ok {
			t = c.clock.NewTimer(max(c.clock.Until(at), 0))
			due = t.Chan()
		}
		select {
		case <-c.ctx.Done():
		case <-c.view.wake:
		case <-due:
			c.view.tick()
		}
		if t != nil {
			t.Stop()
		}
		if c.ctx.Err() != nil {
			return
		}
	}
}

// reconnectLoop tries, every jittered ReconnectInterval, to join one random
// member that died less than ReconnectTimeout ago.
func (c *Cluster) reconnectLoop() {
	for c.wait(jitter(c.cfg.ReconnectInterval)) {
		c.reconnectOnce()
	}
}

func (c *Cluster) reconnectOnce() {
	if c.isLeaving() {
		return
	}
	dead := c.view.deadWithin(c.cfg.ReconnectTimeout)
	if len(dead) == 0 {
		return
	}
	// Serf's rule: try with probability dead/alive, so the whole cluster
	// makes about one attempt per dead member per interval at any size,
	// while each side of a half-and-half partition tries every time.
	if alive := c.NumAlive(); alive > len(dead) && rand.Float64()*float64(alive) > float64(len(dead)) {
		return
	}
	m := dead[rand.IntN(len(dead))]
	addr := net.JoinHostPort(m.Addr, strconv.Itoa(m.Port))
	c.stats.reconnectAttempts.Add(1)
	ctx, cancel := context.WithTimeout(c.ctx, c.attemptTimeout())
	defer cancel()
	if _, err := c.join(ctx, []string{addr}); err != nil {
		c.logger.Debug("reconnect to dead member failed", "member", m.Name, "addr", addr, "error", err)
		return
	}
	c.stats.reconnects.Add(1)
	c.logger.Info("reconnected to a dead member", "member", m.Name, "addr", addr)
}

// isolationLoop checks every jittered IsolationCheckInterval whether this
// node looks isolated and, if so, rediscovers and rejoins, backing off
// exponentially (up to IsolationBackoffMax) while attempts fail.
func (c *Cluster) isolationLoop() {
	var s isolationState
	for c.wait(jitter(c.cfg.IsolationCheckInterval)) {
		c.checkIsolation(&s)
	}
}

// isolationState is the isolation loop's backoff.
type isolationState struct {
	failures  int
	notBefore time.Time
}

// checkIsolation is one round of the isolation loop.
func (c *Cluster) checkIsolation(s *isolationState) {
	if c.isLeaving() || !c.isolated() {
		*s = isolationState{}
		return
	}
	if c.clock.Now().Before(s.notBefore) {
		return
	}
	// A join that reached only members already in view (the rest of a
	// minority side) leaves this node isolated: back off as after a
	// failure, or a partitioned minority re-lists S3 at every check.
	if c.rejoinOnce() && !c.isolated() {
		*s = isolationState{}
		return
	}
	s.failures++
	s.notBefore = c.clock.Now().Add(backoff(c.cfg.IsolationCheckInterval, c.cfg.IsolationBackoffMax, s.failures))
}

// isolated reports whether this node is alone: nobody else alive in its
// view. Gossip is the judge, not the registry. The registry's count of
// records once stood in for "how many members there should be", but stale
// records (crashed agents, until they are pruned) made the survivors of a
// partial failure look isolated for good: 3 survivors of 8 listed S3 every
// few seconds forever, the opposite of zero S3 requests in steady state.
// A node that still sees one live peer is not lost: memberlist keeps its
// view whole through that peer, and the reconnect loop heals a partition
// from either side by dialling the members it holds dead (a side that
// learned new members meanwhile brings them in the push/pull). Only a node
// that has nobody left needs the registry to find the cluster again.
func (c *Cluster) isolated() bool { return c.NumAlive() <= 1 }

// rejoinOnce calls Discover and joins its candidates.
func (c *Cluster) rejoinOnce() bool {
	c.stats.rejoinAttempts.Add(1)
	ctx, cancel := context.WithTimeout(c.ctx, max(c.cfg.IsolationCheckInterval, c.attemptTimeout()))
	defer cancel()
	addrs, err := c.cfg.Discover(ctx)
	if err != nil {
		c.logger.Warn("isolated, and discovery failed; will retry with backoff", "alive", c.NumAlive(), "error", err)
		return false
	}
	n, err := c.join(ctx, addrs)
	if err != nil {
		c.logger.Info("isolated, and no discovered candidate answered; will retry with backoff", "alive", c.NumAlive(), "candidates", len(addrs), "error", err)
		return false
	}
	c.stats.rejoins.Add(1)
	c.kickSettle()
	c.logger.Info("rejoined after isolation", "contacted", n)
	return true
}

// attemptTimeout bounds one background join: a push/pull is a dial plus a
// write and a read, each bounded by memberlist's TCPTimeout. It is real
// time, not the Clock, because it bounds real network I/O (and clockwork's
// fake-clock contexts block in Err until they are done).
func (c *Cluster) attemptTimeout() time.Duration { return 3 * c.mlConf.TCPTimeout }

// wait waits d on the Clock; it returns false once Shutdown has begun.
func (c *Cluster) wait(d time.Duration) bool {
	t := c.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.ctx.Done():
		return false
	case <-t.Chan():
		return true
	}
}

// jitter returns a duration uniformly in [d/2, 3d/2), so that a fleet
// started together does not act in lockstep.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d)
}

// backoff returns base*2^failures capped at limit, with the upper half
// jittered.
func backoff(base, limit time.Duration, failures int) time.Duration {
	d := limit
	if failures < 32 && base<<failures > 0 && base<<failures < limit {
		d = base << failures
	}
	return d/2 + rand.N(d/2+1)
}
