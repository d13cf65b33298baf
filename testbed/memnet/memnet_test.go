package memnet

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/farmhand/farmhand/testbed/testutil"
	"github.com/hashicorp/memberlist"
	"github.com/jonboulle/clockwork"
)

// newNet returns a network on a fake clock with the given queue length,
// shut down when t ends.
func newNet(t *testing.T, queue int) (*Network, *clockwork.FakeClock) {
	t.Helper()
	clock := clockwork.NewFakeClock()
	n := NewNetwork(&Config{Seed: 7, QueueLen: queue, Backlog: 4, Clock: clock})
	t.Cleanup(func() { _ = n.Shutdown() })
	return n, clock
}

// attach creates transports at Addr(0..k-1).
func attach(t *testing.T, n *Network, k int) []*Transport {
	t.Helper()
	out := make([]*Transport, k)
	for i := range out {
		tr, err := n.NewTransport(Addr(i))
		if err != nil {
			t.Fatalf("NewTransport(%s): %v", Addr(i), err)
		}
		out[i] = tr
	}
	return out
}

// send writes one packet from a to b's address and fails t on error.
func send(t *testing.T, a, b *Transport, payload string) {
	t.Helper()
	if _, err := a.WriteToAddress([]byte(payload), memberlist.Address{Addr: b.Addr(), Name: "ignored"}); err != nil {
		t.Fatalf("WriteToAddress %s -> %s: %v", a.Addr(), b.Addr(), err)
	}
}

// queued returns how many packets wait in tr's queue.
func queued(tr *Transport) int { return len(tr.packetCh) }

func TestAddrLabels(t *testing.T) {
	cases := map[int]string{0: "198.18.0.1:7946", 254: "198.18.0.255:7946", 255: "198.18.1.0:7946", 65535: "198.19.0.0:7946"}
	for i, want := range cases {
		if got := Addr(i); got != want {
			t.Errorf("Addr(%d) = %s, want %s", i, got, want)
		}
	}
	n := NewNetwork(nil)
	defer n.Shutdown()
	if _, err := n.NewTransport("nonsense"); err == nil {
		t.Error("NewTransport accepted an address without a port")
	}
	tr, err := n.NewTransport(Addr(3))
	if err != nil {
		t.Fatal(err)
	}
	ip, port, err := tr.FinalAdvertiseAddr("10.0.0.1", 1)
	if err != nil || ip.String() != "198.18.0.4" || port != DefaultPort {
		t.Errorf("FinalAdvertiseAddr = %s %d %v, want 198.18.0.4 %d", ip, port, err, DefaultPort)
	}
	if _, err := n.NewTransport(Addr(3)); err == nil {
		t.Error("NewTransport reused an address that is still live")
	}
}

func TestPacketDeliveryAndCounters(t *testing.T) {
	n, _ := newNet(t, 8)
	tr := attach(t, n, 2)
	buf := []byte("hello")
	if _, err := tr[0].WriteTo(buf, tr[1].Addr()); err != nil {
		t.Fatal(err)
	}
	buf[0] = 'J' // the network must have copied the payload
	p := <-tr[1].PacketCh()
	if string(p.Buf) != "hello" || p.From.String() != tr[0].Addr() || p.Timestamp.IsZero() {
		t.Fatalf("got packet %q from %s at %v, want \"hello\" from %s with a timestamp", p.Buf, p.From, p.Timestamp, tr[0].Addr())
	}
	a, _ := n.Stats(tr[0].Addr())
	b, _ := n.Stats(tr[1].Addr())
	if a.PacketsOut != 1 || a.BytesOut != 5 || b.PacketsIn != 1 || b.BytesIn != 5 || a.Lost != 0 {
		t.Fatalf("counters out=%+v in=%+v", a, b)
	}
	// A packet to an address nobody holds vanishes, as UDP does.
	if _, err := tr[0].WriteTo([]byte("x"), Addr(99)); err != nil {
		t.Fatalf("write to unknown address failed: %v", err)
	}
	if a, _ := n.Stats(tr[0].Addr()); a.Lost != 1 {
		t.Fatalf("Lost = %d after a packet to nowhere, want 1", a.Lost)
	}
	if tot := n.Total(); tot.PacketsOut != 2 || tot.PacketsIn != 1 {
		t.Fatalf("Total = %+v, want 2 out, 1 in", tot)
	}
}

func TestQueueOverflowDrops(t *testing.T) {
	n, _ := newNet(t, 3)
	tr := attach(t, n, 2)
	for i := 0; i < 5; i++ {
		send(t, tr[0], tr[1], "p")
	}
	b, _ := n.Stats(tr[1].Addr())
	if queued(tr[1]) != 3 || b.PacketsIn != 3 || b.Overflow != 2 {
		t.Fatalf("queued %d, counters %+v; want 3 queued, 3 in, 2 overflow", queued(tr[1]), b)
	}
}

func TestLoss(t *testing.T) {
	n, _ := newNet(t, 4096)
	tr := attach(t, n, 2)
	if err := n.SetLoss(1.5); err == nil {
		t.Fatal("SetLoss(1.5) accepted")
	}
	if err := n.SetLoss(0.25); err != nil {
		t.Fatal(err)
	}
	const sent = 4000
	for i := 0; i < sent; i++ {
		send(t, tr[0], tr[1], "p")
	}
	a, _ := n.Stats(tr[0].Addr())
	if got := queued(tr[1]); uint64(got)+a.Lost != sent || got < sent*65/100 || got > sent*85/100 {
		t.Fatalf("delivered %d and lost %d of %d at 25%% loss", got, a.Lost, sent)
	}
	// The same seed and order give the same drops.
	n2, _ := newNet(t, 4096)
	tr2 := attach(t, n2, 2)
	_ = n2.SetLoss(0.25)
	for i := 0; i < sent; i++ {
		send(t, tr2[0], tr2[1], "p")
	}
	if queued(tr2[1]) != queued(tr[1]) {
		t.Fatalf("same seed delivered %d then %d packets", queued(tr[1]), queued(tr2[1]))
	}
}

// dialAsync dials from a to b's address with timeout in a goroutine.
func dialAsync(a, b *Transport, timeout time.Duration) <-chan error {
	errc := make(chan error, 1)
	go func() {
		c, err := a.DialTimeout(b.Addr(), timeout)
		if c != nil {
			_ = c.Close()
		}
		errc <- err
	}()
	return errc
}

func TestCrashAndRestore(t *testing.T) {
	n, clock := newNet(t, 8)
	tr := attach(t, n, 3)
	send(t, tr[2], tr[1], "queued before the crash")
	if err := n.Crash(tr[1].Addr()); err != nil {
		t.Fatal(err)
	}
	if queued(tr[1]) != 0 {
		t.Fatal("a crash kept the receive queue")
	}
	send(t, tr[0], tr[1], "to the crashed node")
	send(t, tr[1], tr[0], "from the crashed node")
	if queued(tr[0]) != 0 || queued(tr[1]) != 0 {
		t.Fatalf("packets crossed a crash: %d and %d queued", queued(tr[0]), queued(tr[1]))
	}
	// A dial to a crashed host waits out its timeout.
	errc := dialAsync(tr[0], tr[1], 3*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		t.Fatalf("dial to a crashed node ended before its timeout: %v", err)
	default:
	}
	clock.Advance(3 * time.Second)
	if err := <-errc; err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("dial to a crashed node: %v, want a timeout", err)
	}
	if err := n.Restore(tr[1].Addr()); err != nil {
		t.Fatal(err)
	}
	send(t, tr[0], tr[1], "after restore")
	if queued(tr[1]) != 1 {
		t.Fatal("no delivery after Restore")
	}
	if err := n.Crash(Addr(50)); err == nil {
		t.Fatal("Crash of an unknown address succeeded")
	}
}

func TestStreamsAndShutdown(t *testing.T) {
	n, _ := newNet(t, 8)
	tr := attach(t, n, 2)
	c, err := tr[0].DialAddressTimeout(memberlist.Address{Addr: tr[1].Addr()}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s := <-tr[1].StreamCh()
	if s.RemoteAddr().String() != tr[0].Addr() || c.RemoteAddr().String() != tr[1].Addr() {
		t.Fatalf("stream addresses %s / %s", s.RemoteAddr(), c.RemoteAddr())
	}
	go func() { _, _ = c.Write([]byte("ping")); _ = c.Close() }()
	got, err := io.ReadAll(s)
	if err != nil || !bytes.Equal(got, []byte("ping")) {
		t.Fatalf("read %q, %v", got, err)
	}
	_ = s.Close()
	a, _ := n.Stats(tr[0].Addr())
	if a.StreamsOut != 1 || a.StreamBytesOut != 4 {
		t.Fatalf("stream counters %+v", a)
	}
	// A shut-down node refuses dials at once, and its address can be reused.
	if err := tr[1].Shutdown(); err != nil {
		t.Fatal(err)
	}
	if _, err := tr[0].DialTimeout(tr[1].Addr(), time.Hour); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("dial to a shut-down node: %v, want refused", err)
	}
	if _, err := tr[1].WriteTo([]byte("x"), tr[0].Addr()); !errors.Is(err, ErrClosed) {
		t.Fatalf("write from a shut-down transport: %v, want ErrClosed", err)
	}
	again, err := n.NewTransport(tr[1].Addr())
	if err != nil {
		t.Fatalf("reusing a freed address: %v", err)
	}
	send(t, tr[0], again, "hello replacement")
	if queued(again) != 1 {
		t.Fatal("replacement at a reused address got nothing")
	}
	_ = n.Shutdown()
	if _, err := n.NewTransport(Addr(9)); !errors.Is(err, ErrClosed) {
		t.Fatalf("NewTransport after Shutdown: %v, want ErrClosed", err)
	}
}

func TestPartitionAndHeal(t *testing.T) {
	n, _ := newNet(t, 8)
	tr := attach(t, n, 3)
	c, err := tr[0].DialTimeout(tr[1].Addr(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s := <-tr[1].StreamCh()
	defer s.Close()
	if err := n.Partition([]string{tr[0].Addr()}, []string{tr[1].Addr(), tr[2].Addr()}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("x")); err == nil {
		t.Fatal("a stream across a new partition still accepts writes")
	}
	send(t, tr[0], tr[1], "across")
	send(t, tr[2], tr[1], "same side")
	if queued(tr[1]) != 1 {
		t.Fatalf("%d packets reached the far side's node, want only the same-side one", queued(tr[1]))
	}
	if err := n.Partition([]string{tr[0].Addr()}, []string{tr[0].Addr()}); err == nil {
		t.Fatal("a partition with a node on both sides was accepted")
	}
	n.Heal()
	send(t, tr[0], tr[1], "healed")
	if queued(tr[1]) != 2 {
		t.Fatal("no delivery after Heal")
	}
}

func TestStallHoldsTraffic(t *testing.T) {
	n, clock := newNet(t, 8)
	tr := attach(t, n, 3)
	if err := n.Stall(tr[1].Addr(), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	send(t, tr[0], tr[1], "to the stalled node")
	send(t, tr[1], tr[2], "from the stalled node")
	if queued(tr[1]) != 0 || queued(tr[2]) != 0 {
		t.Fatal("packets got through a stall")
	}
	// A dial to the stalled node completes when the stall ends.
	errc := dialAsync(tr[0], tr[1], 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Waiters: two release timers, the dial's deadline and its stall wait.
	if err := clock.BlockUntilContext(ctx, 4); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	if queued(tr[1]) != 0 {
		t.Fatal("packet delivered halfway through the stall")
	}
	clock.Advance(time.Second)
	testutil.Run(t, 5*time.Second, func(r *testutil.R) {
		if queued(tr[1]) != 1 || queued(tr[2]) != 1 {
			r.Fatalf("after the stall: %d and %d queued, want 1 and 1", queued(tr[1]), queued(tr[2]))
		}
	})
	if err := <-errc; err != nil {
		t.Fatalf("dial to a node whose stall ended: %v", err)
	}
	if s := <-tr[1].StreamCh(); s == nil {
		t.Fatal("no stream after the stall")
	}
}

var _ net.Conn = (*conn)(nil)
