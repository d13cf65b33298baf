package memnet

import "sync/atomic"

// Counters are one node's traffic figures since its transport was created.
type Counters struct {
	// PacketsOut and BytesOut count the packets the node sent, delivered or not.
	PacketsOut, BytesOut uint64
	// PacketsIn and BytesIn count the packets that reached the node's queue.
	PacketsIn, BytesIn uint64
	// Lost counts packets the node sent that the network dropped: random
	// loss, a crash at either end, a partition, or no live node at the
	// destination.
	Lost uint64
	// Overflow counts packets addressed to the node that were dropped
	// because its queue was full, as a full UDP receive buffer does.
	Overflow uint64
	// StreamsOut counts the node's successful dials; StreamsIn the
	// connections handed to it.
	StreamsOut, StreamsIn uint64
	// DialRefused counts the node's dials refused at once (nothing
	// listening); DialTimeouts those that waited out their timeout (a dead,
	// cut-off or stalled host, or a full accept backlog).
	DialRefused, DialTimeouts uint64
	// StreamBytesOut and StreamBytesIn count bytes written by and to the
	// node over stream connections.
	StreamBytesOut, StreamBytesIn uint64
}

// add returns c+o, field by field.
func (c Counters) add(o Counters) Counters {
	return Counters{
		PacketsOut: c.PacketsOut + o.PacketsOut, BytesOut: c.BytesOut + o.BytesOut,
		PacketsIn: c.PacketsIn + o.PacketsIn, BytesIn: c.BytesIn + o.BytesIn,
		Lost: c.Lost + o.Lost, Overflow: c.Overflow + o.Overflow,
		StreamsOut: c.StreamsOut + o.StreamsOut, StreamsIn: c.StreamsIn + o.StreamsIn,
		DialRefused: c.DialRefused + o.DialRefused, DialTimeouts: c.DialTimeouts + o.DialTimeouts,
		StreamBytesOut: c.StreamBytesOut + o.StreamBytesOut, StreamBytesIn: c.StreamBytesIn + o.StreamBytesIn,
	}
}

// counters is the live, atomically updated form of Counters.
type counters struct {
	packetsOut, bytesOut          atomic.Uint64
	packetsIn, bytesIn            atomic.Uint64
	lost, overflow                atomic.Uint64
	streamsOut, streamsIn         atomic.Uint64
	dialRefused, dialTimeouts     atomic.Uint64
	streamBytesOut, streamBytesIn atomic.Uint64
}

// snapshot reads every counter.
func (c *counters) snapshot() Counters {
	return Counters{
		PacketsOut: c.packetsOut.Load(), BytesOut: c.bytesOut.Load(),
		PacketsIn: c.packetsIn.Load(), BytesIn: c.bytesIn.Load(),
		Lost: c.lost.Load(), Overflow: c.overflow.Load(),
		StreamsOut: c.streamsOut.Load(), StreamsIn: c.streamsIn.Load(),
		DialRefused: c.dialRefused.Load(), DialTimeouts: c.dialTimeouts.Load(),
		StreamBytesOut: c.streamBytesOut.Load(), StreamBytesIn: c.streamBytesIn.Load(),
	}
}

// Stats returns the counters of the transport that holds addr now, and
// false when no transport was ever created there.
func (n *Network) Stats(addr string) (Counters, bool) {
	n.mu.Lock()
	t, ok := n.nodes[addr]
	n.mu.Unlock()
	if !ok {
		return Counters{}, false
	}
	return t.stats.snapshot(), true
}

// Total returns the sum of the counters of every transport the network has
// created, including shut-down and replaced ones.
func (n *Network) Total() Counters {
	n.mu.Lock()
	all := append([]*Transport(nil), n.all...)
	n.mu.Unlock()
	var sum Counters
	for _, t := range all {
		sum = sum.add(t.stats.snapshot())
	}
	return sum
}
