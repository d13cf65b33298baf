package membership

import (
	"context"
	"io"
	"log"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/farmhand/farmhand/testbed/testutil"
)

func newTestTransport(t *testing.T) *netTransport {
	t.Helper()
	tr, err := newNetTransport(context.Background(), testutil.TakeIP(t).String(), 0, log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Shutdown() })
	return tr
}

// TestNetTransportPacketsAreCopiedAtTheirSize checks that a received
// packet's buffer is its own and no larger than the packet, where
// memberlist's NetTransport hands out a fresh 64 KiB buffer per packet.
func TestNetTransportPacketsAreCopiedAtTheirSize(t *testing.T) {
	a, b := newTestTransport(t), newTestTransport(t)
	to := memberlist.Address{Addr: netip.AddrPortFrom(b.local, uint16(b.port())).String()}
	for _, msg := range []string{"first packet", "2nd"} {
		if _, err := a.WriteToAddress([]byte(msg), to); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"first packet", "2nd"} {
		select {
		case p := <-b.PacketCh():
			if string(p.Buf) != want || cap(p.Buf) > len(want)+8 {
				t.Errorf("packet %q with capacity %d, want %q in a buffer of its size", p.Buf, cap(p.Buf), want)
			}
			if from := p.From.(*net.UDPAddr).AddrPort(); from.Addr().Unmap() != a.local || int(from.Port()) != a.port() {
				t.Errorf("packet from %s, want %s:%d", from, a.local, a.port())
			}
		case <-time.After(settle):
			t.Fatalf("packet %q never arrived", want)
		}
	}
}

// TestNetTransportDialsFromTheBindAddress checks that a stream leaves from
// the gossip address, so its peer sees the same address as for packets.
func TestNetTransportDialsFromTheBindAddress(t *testing.T) {
	a, b := newTestTransport(t), newTestTransport(t)
	conn, err := a.DialAddressTimeout(memberlist.Address{Addr: netip.AddrPortFrom(b.local, uint16(b.port())).String()}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got := conn.LocalAddr().(*net.TCPAddr).AddrPort().Addr().Unmap(); got != a.local {
		t.Errorf("stream leaves from %s, want the bind address %s", got, a.local)
	}
	select {
	case in := <-b.StreamCh():
		if got := in.RemoteAddr().(*net.TCPAddr).AddrPort().Addr().Unmap(); got != a.local {
			t.Errorf("peer sees the stream from %s, want %s", got, a.local)
		}
		in.Close()
	case <-time.After(settle):
		t.Fatal("stream never accepted")
	}
}

// TestNetTransportShutdownIsSafeTwiceAndUnblocks shuts down while a packet
// waits for a reader that never comes.
func TestNetTransportShutdownIsSafeTwiceAndUnblocks(t *testing.T) {
	a, b := newTestTransport(t), newTestTransport(t)
	to := memberlist.Address{Addr: netip.AddrPortFrom(b.local, uint16(b.port())).String()}
	if _, err := a.WriteToAddress([]byte("unread"), to); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		b.Shutdown()
		b.Shutdown()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(settle):
		t.Fatal("Shutdown blocked on an unread packet")
	}
}
