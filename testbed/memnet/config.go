package memnet

import "github.com/jonboulle/clockwork"

// Config tunes a Network.
type Config struct {
	// Seed seeds the random source that decides which packets SetLoss drops;
	// the same seed and send order give the same drops.
	Seed uint64

	// QueueLen is how many packets each node's inbound queue (its UDP
	// receive buffer) holds; a packet arriving at a full queue is dropped
	// and counted in Counters.Overflow. It also bounds the packets held for
	// a stalled node.
	QueueLen int

	// Backlog is how many stream connections may wait for a node to accept
	// them (its listen backlog); a dial beyond that waits until a slot frees
	// or its timeout passes.
	Backlog int

	// Clock times stalls, dial timeouts and packet timestamps. Tests pass a
	// fake clock; memberlist itself always runs on real time.
	Clock clockwork.Clock
}

// DefaultConfig returns a Config that models a LAN host: a 1,024-packet
// receive queue (about 1.4 MB of memberlist packets), a backlog of 128
// streams and the real clock.
func DefaultConfig() *Config {
	return &Config{
		Seed:     1,
		QueueLen: 1024,
		Backlog:  128,
		Clock:    clockwork.NewRealClock(),
	}
}
