package membership

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/memberlist"
)

// abortTransport wraps memberlist's transport so that Shutdown can cut
// this node's outbound streams short. memberlist has no way to cancel a
// push/pull, so a join attempt to a silent candidate would otherwise hold
// Shutdown for up to twice TCPTimeout (a dial, then the exchange).
type abortTransport struct {
	memberlist.NodeAwareTransport
	// own says the inner transport is our netTransport, which the Cluster
	// created and must shut down itself if memberlist never starts.
	own *netTransport

	mu     sync.Mutex
	conns  map[*abortConn]struct{}
	closed bool
}

var _ memberlist.NodeAwareTransport = (*abortTransport)(nil)

// newTransport returns cfg.Transport, or a netTransport on
// BindAddr:BindPort (retrying a few times when BindPort 0 races another
// bind), wrapped. ctx ends the netTransport's dials.
func newTransport(ctx context.Context, cfg *Config, logger *log.Logger) (*abortTransport, error) {
	t := &abortTransport{conns: map[*abortConn]struct{}{}}
	if cfg.Transport != nil {
		t.NodeAwareTransport = cfg.Transport
		return t, nil
	}
	tries := 1
	if cfg.BindPort == 0 {
		tries = 10
	}
	var err error
	for range tries {
		var nt *netTransport
		nt, err = newNetTransport(ctx, cfg.BindAddr, cfg.BindPort, logger)
		if err == nil {
			t.NodeAwareTransport, t.own = nt, nt
			return t, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	return nil, err
}

// boundPort returns the port our own netTransport bound, or 0.
func (t *abortTransport) boundPort() int {
	if t.own != nil {
		return t.own.port()
	}
	return 0
}

// DialAddressTimeout dials like the inner transport and tracks the stream.
func (t *abortTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	conn, err := t.NodeAwareTransport.DialAddressTimeout(a, timeout)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		conn.Close()
		return nil, errors.New("membership: shutting down")
	}
	ac := &abortConn{Conn: conn, t: t}
	t.conns[ac] = struct{}{}
	return ac, nil
}

// DialTimeout is DialAddressTimeout without a node name.
func (t *abortTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

// abort closes every outbound stream and refuses new ones.
func (t *abortTransport) abort() {
	t.mu.Lock()
	t.closed = true
	conns := t.conns
	t.conns = map[*abortConn]struct{}{}
	t.mu.Unlock()
	for c := range conns {
		c.Conn.Close()
	}
}

// abortConn removes itself from its transport when closed.
type abortConn struct {
	net.Conn
	t *abortTransport
}

func (c *abortConn) Close() error {
	c.t.mu.Lock()
	delete(c.t.conns, c)
	c.t.mu.Unlock()
	if err := c.Conn.Close(); err != nil {
		return fmt.Errorf("close stream to %s: %w", c.RemoteAddr(), err)
	}
	return nil
}
