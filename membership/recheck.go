package membership

import (
	"net"
)

// A suspicion in this view starts with this node's own failed probe (see
// logtap.go). memberlist then settles it cluster-wide: a death verdict,
// which the view hears of, or a refutation from the member, which
// memberlist reports through no callback at all (an alive message that
// changes nothing but the incarnation raises no NotifyUpdate). Left alone,
// the view would show a refuted member as suspect until the longest
// suspicion memberlist could have run (suspicionBound: 15 s at 50 members,
// 30 s at 1,000), and a CPU stall of a few hundred milliseconds, a common
// event on a loaded machine, would keep members out of every "alive" list
// for that long.
//
// So the Cluster pings the members it suspects again, one at a time and at
// most one per ProbeInterval, and ends the suspicion as soon as one answers.
// The cost is bounded whatever the number of suspects: at most one extra
// ping per probe interval, half the probe traffic, and nothing at all while
// nobody is suspect.

// pingMember is one UDP ping and its ack; Cluster.ping is this unless a
// test replaces it.
func (c *Cluster) pingMember(m Member) error {
	_, err := c.ml.Ping(m.Name, &net.UDPAddr{IP: net.ParseIP(m.Addr), Port: m.Port})
	return err
}

// recheckLoop pings suspected members again until none is left.
func (c *Cluster) recheckLoop() {
	for {
		if _, ok := c.view.nextRecheck(); !ok {
			select {
			case <-c.ctx.Done():
				return
			case <-c.view.suspected:
			}
		}
		if !c.wait(c.mlConf.ProbeInterval) {
			return
		}
		// Pick after the wait: the suspicion may have ended meanwhile, and
		// a dead member is the reconnect loop's business, not ours.
		m, ok := c.view.nextRecheck()
		if !ok {
			continue
		}
		if c.ping(m) == nil {
			c.view.probeOK(m.Name)
		}
		c.view.rechecked(m.Name)
	}
}
