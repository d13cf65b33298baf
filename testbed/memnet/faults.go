package memnet

import (
	"fmt"
	"time"
)

// SetLoss makes the network drop each packet independently with
// probability p (0 <= p <= 1), decided by the seeded random source. Streams
// are reliable, like TCP, and are not affected.
func (n *Network) SetLoss(p float64) error {
	if p < 0 || p > 1 || p != p {
		return fmt.Errorf("memnet: loss probability %v is outside [0, 1]", p)
	}
	n.mu.Lock()
	n.loss = p
	n.mu.Unlock()
	return nil
}

// Crash cuts the node at addr off as a machine that lost power: packets to
// it and from it are dropped, its receive queue is emptied, dials to it time
// out, its own dials fail and its open streams close. Unlike memberlist's
// MockNetwork, the memberlist instance on it may keep running and sending;
// nobody hears it. Restore undoes a Crash.
func (n *Network) Crash(addr string) error {
	n.mu.Lock()
	t, err := n.liveLocked(addr)
	if err != nil {
		n.mu.Unlock()
		return err
	}
	t.crashed = true
	t.dropHeldLocked()
	for drained := false; !drained; {
		select {
		case <-t.packetCh:
		default:
			drained = true
		}
	}
	conns := t.connsLocked()
	n.mu.Unlock()
	closeAll(conns)
	return nil
}

// Restore reconnects a crashed node; traffic flows again from now on.
func (n *Network) Restore(addr string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	t, err := n.liveLocked(addr)
	if err != nil {
		return err
	}
	t.crashed = false
	return nil
}

// Partition drops all traffic between every address in groupA and every
// address in groupB, and closes the streams open between them. Partitions
// add up; Heal removes them all.
func (n *Network) Partition(groupA, groupB []string) error {
	c := cut{a: make(map[string]bool), b: make(map[string]bool)}
	for _, a := range groupA {
		c.a[a] = true
	}
	for _, b := range groupB {
		if c.a[b] {
			return fmt.Errorf("memnet: address %s is on both sides of the partition", b)
		}
		c.b[b] = true
	}
	n.mu.Lock()
	n.cuts = append(n.cuts, c)
	var crossing []*conn
	for _, t := range n.nodes {
		for cn := range t.conns {
			if c.separates(t.addr, cn.peer.addr) {
				crossing = append(crossing, cn)
			}
		}
	}
	n.mu.Unlock()
	closeAll(crossing)
	return nil
}

// Heal removes every partition.
func (n *Network) Heal() {
	n.mu.Lock()
	n.cuts = nil
	n.mu.Unlock()
}

// Stall models a process paused for d (a GC pause, SIGSTOP, a starved VM):
// packets to and from the node are held and delivered when the pause ends,
// and dials to or from it complete only then. The memberlist instance itself
// keeps running, so its timers fire during the pause as they would on
// resume. Stalling a stalled node extends the pause.
func (n *Network) Stall(addr string, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("memnet: stall duration %s is negative", d)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	t, err := n.liveLocked(addr)
	if err != nil {
		return err
	}
	until := n.clock.Now().Add(d)
	if until.After(t.stallUntil) {
		t.stallUntil = until
	}
	return nil
}

// liveLocked returns the transport at addr, failing when there is none or
// it is shut down. Callers hold n.mu.
func (n *Network) liveLocked(addr string) (*Transport, error) {
	t, ok := n.nodes[addr]
	if !ok || t.shut {
		return nil, fmt.Errorf("memnet: no live node at %s; create it with NewTransport first", addr)
	}
	return t, nil
}

// separatedLocked reports whether a partition lies between x and y.
// Callers hold n.mu.
func (n *Network) separatedLocked(x, y string) bool {
	for _, c := range n.cuts {
		if c.separates(x, y) {
			return true
		}
	}
	return false
}
