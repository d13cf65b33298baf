package memnet

import (
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/jonboulle/clockwork"
)

// Transport is one node's attachment to a Network. It implements
// memberlist.NodeAwareTransport; routing uses the address only, as a real
// network does, never the node name.
type Transport struct {
	net      *Network
	addr     string
	from     memAddr
	ip       net.IP
	port     int
	packetCh chan *memberlist.Packet
	streamCh chan net.Conn
	done     chan struct{} // closed by Shutdown
	stats    counters

	// Guarded by net.mu.
	shut       bool
	crashed    bool
	stallUntil time.Time
	held       []heldPacket
	holdTimer  clockwork.Timer
	holdAt     time.Time
	conns      map[*conn]struct{}
}

var _ memberlist.NodeAwareTransport = (*Transport)(nil)

// Addr returns the transport's "ip:port".
func (t *Transport) Addr() string { return t.addr }

// FinalAdvertiseAddr implements memberlist.Transport: it always advertises
// the transport's own address, whatever memberlist was configured with.
func (t *Transport) FinalAdvertiseAddr(string, int) (net.IP, int, error) {
	return t.ip, t.port, nil
}

// WriteTo implements memberlist.Transport.
func (t *Transport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

// WriteToAddress implements memberlist.NodeAwareTransport. Like UDP it
// never blocks and reports no error for a packet the network loses; it
// copies b, so memberlist may reuse it.
func (t *Transport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	n := t.net
	n.mu.Lock()
	now := n.clock.Now()
	if t.shut {
		n.mu.Unlock()
		return now, ErrClosed
	}
	t.stats.packetsOut.Add(1)
	t.stats.bytesOut.Add(uint64(len(b)))
	dst, v, at := n.routeLocked(t, a.Addr, true)
	pkt := &memberlist.Packet{Buf: append([]byte(nil), b...), From: t.from}
	switch v {
	case deliver:
		dst.enqueueLocked(pkt, now)
	case hold:
		dst.holdLocked(heldPacket{pkt: pkt, src: t, at: at})
	default:
		t.stats.lost.Add(1)
	}
	n.mu.Unlock()
	return now, nil
}

// enqueueLocked puts pkt on t's queue without blocking, dropping it when the
// queue is full. Callers hold net.mu.
func (t *Transport) enqueueLocked(pkt *memberlist.Packet, now time.Time) {
	pkt.Timestamp = now
	select {
	case t.packetCh <- pkt:
		t.stats.packetsIn.Add(1)
		t.stats.bytesIn.Add(uint64(len(pkt.Buf)))
	default:
		t.stats.overflow.Add(1)
	}
}

// PacketCh implements memberlist.Transport.
func (t *Transport) PacketCh() <-chan *memberlist.Packet { return t.packetCh }

// DialTimeout implements memberlist.Transport.
func (t *Transport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

// DialAddressTimeout implements memberlist.NodeAwareTransport. A dial to a
// crashed, partitioned or unknown address waits out timeout (a dead host
// answers nothing); a dial to an address whose transport was shut down is
// refused at once (the host is up, nothing listens). A dial involving a
// stalled node completes when the stall ends, if that is within timeout.
func (t *Transport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	n := t.net
	clock := n.clock
	deadline := clock.NewTimer(timeout)
	defer deadline.Stop()
	for {
		n.mu.Lock()
		if t.shut {
			n.mu.Unlock()
			return nil, ErrClosed
		}
		dst, v, at := n.routeLocked(t, a.Addr, false)
		n.mu.Unlock()
		switch v {
		case refuse:
			t.stats.dialRefused.Add(1)
			return nil, fmt.Errorf("memnet: dial %s: connection refused", a.Addr)
		case drop:
			select {
			case <-deadline.Chan():
			case <-t.done:
			case <-n.done:
			}
			t.stats.dialTimeouts.Add(1)
			return nil, fmt.Errorf("memnet: dial %s: i/o timeout after %s", a.Addr, timeout)
		case hold:
			wait := clock.NewTimer(at.Sub(clock.Now()))
			select {
			case <-wait.Chan():
				continue // route again: the world may have changed
			case <-deadline.Chan():
				wait.Stop()
				t.stats.dialTimeouts.Add(1)
				return nil, fmt.Errorf("memnet: dial %s: i/o timeout after %s (stalled)", a.Addr, timeout)
			case <-t.done:
				wait.Stop()
				return nil, ErrClosed
			case <-n.done:
				wait.Stop()
				return nil, ErrClosed
			}
		}
		return t.connect(dst, a.Addr, deadline.Chan())
	}
}

// connect hands one end of a new pipe to dst's accept queue and returns the
// other, or fails when expired fires first or dst goes away.
func (t *Transport) connect(dst *Transport, addr string, expired <-chan time.Time) (net.Conn, error) {
	mine, theirs, ok := newPipe(t, dst)
	if !ok {
		t.stats.dialRefused.Add(1)
		return nil, fmt.Errorf("memnet: dial %s: connection refused", addr)
	}
	select {
	case dst.streamCh <- theirs:
		t.stats.streamsOut.Add(1)
		dst.stats.streamsIn.Add(1)
		return mine, nil
	case <-expired:
		err := fmt.Errorf("memnet: dial %s: i/o timeout (accept backlog full)", addr)
		t.stats.dialTimeouts.Add(1)
		closeAll([]*conn{mine})
		return nil, err
	case <-dst.done:
		t.stats.dialRefused.Add(1)
		closeAll([]*conn{mine})
		return nil, fmt.Errorf("memnet: dial %s: connection refused", addr)
	case <-t.done:
		closeAll([]*conn{mine})
		return nil, ErrClosed
	}
}

// StreamCh implements memberlist.Transport.
func (t *Transport) StreamCh() <-chan net.Conn { return t.streamCh }

// Shutdown implements memberlist.Transport: the node leaves the network,
// its open streams close and packets held for it are dropped. Its address
// may then be reused. It is idempotent.
func (t *Transport) Shutdown() error {
	n := t.net
	n.mu.Lock()
	if t.shut {
		n.mu.Unlock()
		return nil
	}
	t.shut = true
	close(t.done)
	t.dropHeldLocked()
	conns := t.connsLocked()
	n.mu.Unlock()
	closeAll(conns)
	return nil
}
