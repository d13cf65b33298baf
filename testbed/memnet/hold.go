package memnet

import (
	"time"

	"github.com/hashicorp/memberlist"
)

// heldPacket is a packet waiting for a stall at either end to pass.
type heldPacket struct {
	pkt *memberlist.Packet
	src *Transport
	at  time.Time
}

// holdLocked keeps h until h.at, dropping it when the hold queue is full.
// Callers hold net.mu.
func (t *Transport) holdLocked(h heldPacket) {
	if len(t.held) >= t.net.cfg.QueueLen {
		t.stats.overflow.Add(1)
		return
	}
	t.held = append(t.held, h)
	t.armLocked(h.at)
}

// armLocked makes sure release runs no later than at. Callers hold net.mu.
func (t *Transport) armLocked(at time.Time) {
	if t.holdTimer != nil && !at.Before(t.holdAt) {
		return
	}
	if t.holdTimer != nil {
		t.holdTimer.Stop()
	}
	t.holdAt = at
	t.holdTimer = t.net.clock.AfterFunc(at.Sub(t.net.clock.Now()), t.release)
}

// release delivers the held packets that are due, unless the node is still
// stalled, and re-arms for the rest. Packets whose path was cut by a crash
// or partition meanwhile are lost.
func (t *Transport) release() {
	n := t.net
	n.mu.Lock()
	defer n.mu.Unlock()
	t.holdTimer = nil
	if t.shut || n.closed {
		t.held = nil
		return
	}
	now := n.clock.Now()
	if t.stallUntil.After(now) {
		t.armLocked(t.stallUntil)
		return
	}
	keep := t.held[:0]
	var next time.Time
	for _, h := range t.held {
		switch {
		case h.at.After(now):
			keep = append(keep, h)
			if next.IsZero() || h.at.Before(next) {
				next = h.at
			}
		case t.crashed || n.separatedLocked(h.src.addr, t.addr):
			h.src.stats.lost.Add(1)
		default:
			t.enqueueLocked(h.pkt, now)
		}
	}
	clear(t.held[len(keep):])
	t.held = keep
	if len(keep) > 0 {
		t.armLocked(next)
	}
}

// dropHeldLocked discards the held packets and stops the release timer.
// Callers hold net.mu.
func (t *Transport) dropHeldLocked() {
	for _, h := range t.held {
		h.src.stats.lost.Add(1)
	}
	t.held = nil
	if t.holdTimer != nil {
		t.holdTimer.Stop()
		t.holdTimer = nil
	}
}
