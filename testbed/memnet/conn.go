package memnet

import (
	"net"
	"sync"
)

// conn is one end of a stream between two transports: a net.Pipe end that
// reports memnet addresses, counts bytes and can be cut by a fault.
type conn struct {
	net.Conn
	owner, peer *Transport
	other       *conn
	once        sync.Once
}

// newPipe connects a (the dialer) and b, registering both ends so faults
// can close them; it fails when either end has shut down meanwhile.
func newPipe(a, b *Transport) (*conn, *conn, bool) {
	n := a.net
	n.mu.Lock()
	defer n.mu.Unlock()
	if a.shut || b.shut || n.closed {
		return nil, nil, false
	}
	pa, pb := net.Pipe()
	ca := &conn{Conn: pa, owner: a, peer: b}
	cb := &conn{Conn: pb, owner: b, peer: a}
	ca.other, cb.other = cb, ca
	a.conns[ca] = struct{}{}
	b.conns[cb] = struct{}{}
	return ca, cb, true
}

// LocalAddr implements net.Conn.
func (c *conn) LocalAddr() net.Addr { return c.owner.from }

// RemoteAddr implements net.Conn.
func (c *conn) RemoteAddr() net.Addr { return c.peer.from }

// Write implements net.Conn, counting the bytes at both ends.
func (c *conn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.owner.stats.streamBytesOut.Add(uint64(n))
	c.peer.stats.streamBytesIn.Add(uint64(n))
	return n, err
}

// Close implements net.Conn and forgets the end.
func (c *conn) Close() error {
	var err error
	c.once.Do(func() {
		n := c.owner.net
		n.mu.Lock()
		delete(c.owner.conns, c)
		n.mu.Unlock()
		err = c.Conn.Close()
	})
	return err
}

// connsLocked lists the node's open stream ends. Callers hold net.mu.
func (t *Transport) connsLocked() []*conn {
	out := make([]*conn, 0, len(t.conns))
	for c := range t.conns {
		out = append(out, c)
	}
	return out
}

// closeAll closes both ends of every listed stream, as a reset would.
// Callers must not hold net.mu.
func closeAll(cs []*conn) {
	for _, c := range cs {
		_ = c.Close()
		_ = c.other.Close()
	}
}
