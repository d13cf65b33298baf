package memnet

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/jonboulle/clockwork"
)

// ErrClosed is returned by a Network or Transport that has been shut down.
var ErrClosed = errors.New("memnet: network or transport is shut down")

// Network connects the Transports it creates. Addresses are map keys; no
// traffic leaves the process. All methods are safe for concurrent use.
type Network struct {
	cfg   Config
	clock clockwork.Clock
	done  chan struct{} // closed by Shutdown

	mu     sync.Mutex
	nodes  map[string]*Transport // addr -> newest transport at that address
	all    []*Transport          // every transport ever created, for Total
	loss   float64
	rng    *rand.Rand
	cuts   []cut
	closed bool
}

// cut is one Partition: no traffic between a member of a and a member of b.
type cut struct {
	a, b map[string]bool
}

// separates reports whether x and y are on opposite sides of the cut.
func (c cut) separates(x, y string) bool {
	return (c.a[x] && c.b[y]) || (c.b[x] && c.a[y])
}

// NewNetwork returns an empty network; nil cfg means DefaultConfig().
func NewNetwork(cfg *Config) *Network {
	c := *DefaultConfig()
	if cfg != nil {
		c = *cfg
	}
	if c.QueueLen <= 0 {
		c.QueueLen = DefaultConfig().QueueLen
	}
	if c.Backlog <= 0 {
		c.Backlog = DefaultConfig().Backlog
	}
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
	return &Network{
		cfg:   c,
		clock: c.Clock,
		done:  make(chan struct{}),
		nodes: make(map[string]*Transport),
		rng:   rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15)),
	}
}

// NewTransport attaches a node at addr ("ip:port", e.g. Addr(i)). An address
// whose previous transport was shut down may be reused, as a replacement
// instance reuses a private IP; the new node starts healthy.
func (n *Network) NewTransport(addr string) (*Transport, error) {
	ip, port, err := parseAddr(addr)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, ErrClosed
	}
	if old, ok := n.nodes[addr]; ok && !old.shut {
		return nil, fmt.Errorf("memnet: address %s is already in use; shut its transport down first or pick another address", addr)
	}
	t := &Transport{
		net:      n,
		addr:     addr,
		from:     memAddr(addr),
		ip:       ip,
		port:     port,
		packetCh: make(chan *memberlist.Packet, n.cfg.QueueLen),
		streamCh: make(chan net.Conn, n.cfg.Backlog),
		done:     make(chan struct{}),
		conns:    make(map[*conn]struct{}),
	}
	n.nodes[addr] = t
	n.all = append(n.all, t)
	return t, nil
}

// Shutdown shuts every transport down, stops all stall timers and fails
// all pending dials. It is idempotent.
func (n *Network) Shutdown() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	close(n.done)
	ts := append([]*Transport(nil), n.all...)
	n.mu.Unlock()
	for _, t := range ts {
		_ = t.Shutdown()
	}
	return nil
}

// verdict is what the network does with one packet or dial.
type verdict int

const (
	deliver verdict = iota // hand it over now
	hold                   // hand it over when the stall ends
	drop                   // lose it (and time a dial out)
	refuse                 // refuse a dial at once (no process listening)
)

// routeLocked decides the fate of traffic from src to addr, returning the
// destination (nil if none) and, for hold, when to deliver. Loss applies to
// packets only. Callers hold n.mu.
func (n *Network) routeLocked(src *Transport, addr string, packet bool) (*Transport, verdict, time.Time) {
	dst, ok := n.nodes[addr]
	switch {
	case n.closed || src.shut || src.crashed:
		return dst, drop, time.Time{}
	case !ok || dst.crashed:
		return dst, drop, time.Time{}
	case dst.shut:
		return dst, refuse, time.Time{}
	}
	for _, c := range n.cuts {
		if c.separates(src.addr, addr) {
			return dst, drop, time.Time{}
		}
	}
	if packet && n.loss > 0 && n.rng.Float64() < n.loss {
		return dst, drop, time.Time{}
	}
	at := src.stallUntil
	if dst.stallUntil.After(at) {
		at = dst.stallUntil
	}
	if at.After(n.clock.Now()) {
		return dst, hold, at
	}
	return dst, deliver, time.Time{}
}
