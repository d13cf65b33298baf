package membership

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	sockaddr "github.com/hashicorp/go-sockaddr"
	"github.com/hashicorp/memberlist"
)

// netTransport is memberlist's UDP and TCP transport on one address, written
// for an agent that must stay cheap at rest and under load. It differs from
// memberlist.NetTransport in three ways:
//
//   - A received packet is read into one reusable 64 KiB buffer and copied
//     out at its own size. NetTransport allocates (and zeroes) 64 KiB for
//     every packet, which made memberlist's receive path most of an idle
//     agent's garbage: at two probes a second an agent allocated about
//     300 KB/s, and the collector ran every few seconds.
//   - Destinations are parsed without allocating (netip), where NetTransport
//     resolves every address it sends to.
//   - Streams are dialed from the bind address, so a peer sees a stream come
//     from the same address as its packets (NetTransport lets the kernel pick
//     the source, which on a loopback testbed is 127.0.0.1), and dials follow
//     ctx, so Shutdown can cut a dial to a silent address short.
type netTransport struct {
	ctx    context.Context
	logger *log.Logger
	local  netip.Addr // the bind address; unspecified for 0.0.0.0

	udp *net.UDPConn
	tcp *net.TCPListener

	packetCh chan *memberlist.Packet
	streamCh chan net.Conn

	shutdown atomic.Bool
	done     chan struct{} // closed by Shutdown
	wg       sync.WaitGroup
}

var _ memberlist.NodeAwareTransport = (*netTransport)(nil)

// udpRecvBuf is the socket receive buffer asked for: a burst of gossip
// during a cold start must wait in the kernel, not be dropped, while the
// process is descheduled.
const udpRecvBuf = 2 << 20

// maxPacket is the largest UDP payload there is.
const maxPacket = 65536

// newNetTransport listens on bindAddr:port (UDP and TCP, the same port; 0
// picks a free one).
func newNetTransport(ctx context.Context, bindAddr string, port int, logger *log.Logger) (*netTransport, error) {
	ip, err := netip.ParseAddr(bindAddr)
	if err != nil {
		return nil, fmt.Errorf("bind address %q: %w", bindAddr, err)
	}
	ip = ip.Unmap()
	t := &netTransport{
		ctx:      ctx,
		logger:   logger,
		local:    ip,
		packetCh: make(chan *memberlist.Packet),
		streamCh: make(chan net.Conn),
		done:     make(chan struct{}),
	}
	t.tcp, err = net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port))))
	if err != nil {
		return nil, err
	}
	port = t.tcp.Addr().(*net.TCPAddr).Port
	t.udp, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port))))
	if err != nil {
		t.tcp.Close()
		return nil, err
	}
	for size := udpRecvBuf; size > 0; size /= 2 {
		if t.udp.SetReadBuffer(size) == nil {
			break
		}
	}
	t.wg.Add(2)
	go t.tcpListen()
	go t.udpListen()
	return t, nil
}

// port is the port bound, for BindPort 0.
func (t *netTransport) port() int { return t.tcp.Addr().(*net.TCPAddr).Port }

// FinalAdvertiseAddr returns ip:port if given, else the bound address.
func (t *netTransport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	if ip != "" {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return nil, 0, fmt.Errorf("advertise address %q: %w", ip, err)
		}
		return net.IP(a.Unmap().AsSlice()), port, nil
	}
	if !t.local.IsUnspecified() {
		return net.IP(t.local.AsSlice()), t.port(), nil
	}
	// Bound to every address: advertise a private one, as NetTransport does.
	priv, err := sockaddr.GetPrivateIP()
	if err != nil || priv == "" {
		return nil, 0, fmt.Errorf("gossip binds %s and no private address was found (%v): set an advertise address", t.local, err)
	}
	return net.ParseIP(priv), t.port(), nil
}

// WriteTo sends one packet.
func (t *netTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

// WriteToAddress sends one packet.
func (t *netTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	ap, err := netip.ParseAddrPort(a.Addr)
	if err != nil {
		return time.Time{}, fmt.Errorf("gossip address %q: %w", a.Addr, err)
	}
	_, err = t.udp.WriteToUDPAddrPort(b, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
	return time.Now(), err
}

// PacketCh delivers received packets.
func (t *netTransport) PacketCh() <-chan *memberlist.Packet { return t.packetCh }

// DialTimeout dials a stream.
func (t *netTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

// DialAddressTimeout dials a stream from the bind address.
func (t *netTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	if !t.local.IsUnspecified() {
		d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(t.local, 0))
	}
	return d.DialContext(t.ctx, "tcp", a.Addr)
}

// StreamCh delivers accepted streams.
func (t *netTransport) StreamCh() <-chan net.Conn { return t.streamCh }

// Shutdown closes the listeners and waits for their goroutines. Calling it
// again is a no-op.
func (t *netTransport) Shutdown() error {
	if t.shutdown.Swap(true) {
		return nil
	}
	close(t.done)
	t.tcp.Close()
	t.udp.Close()
	t.wg.Wait()
	return nil
}

func (t *netTransport) tcpListen() {
	defer t.wg.Done()
	delay := time.Duration(0)
	for {
		conn, err := t.tcp.AcceptTCP()
		if err != nil {
			if t.shutdown.Load() {
				return
			}
			// Out of file descriptors and the like: back off, as
			// NetTransport does, so the loop cannot spin.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			t.logger.Printf("[ERR] memberlist: Error accepting TCP connection: %v", err)
			time.Sleep(delay)
			continue
		}
		delay = 0
		select {
		case t.streamCh <- conn:
		case <-t.done:
			conn.Close()
			return
		}
	}
}

func (t *netTransport) udpListen() {
	defer t.wg.Done()
	buf := make([]byte, maxPacket)
	for {
		n, from, err := t.udp.ReadFromUDPAddrPort(buf)
		ts := time.Now()
		if err != nil {
			if t.shutdown.Load() {
				return
			}
			t.logger.Printf("[ERR] memberlist: Error reading UDP packet: %v", err)
			continue
		}
		if n < 1 {
			continue
		}
		p := &memberlist.Packet{
			Buf:       append([]byte(nil), buf[:n]...),
			From:      net.UDPAddrFromAddrPort(from),
			Timestamp: ts,
		}
		select {
		case t.packetCh <- p:
		case <-t.done:
			return
		}
	}
}
