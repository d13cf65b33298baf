package memnet

import (
	"fmt"
	"net"
	"strconv"
)

// DefaultPort is the port Addr puts in its labels, memberlist's default.
const DefaultPort = 7946

// Addr returns the i-th address label of 198.18.0.0/15, the range reserved
// for benchmarking, as "198.18.x.y:7946" (i from 0, up to 131,067). The
// labels are map keys only: memnet never opens a socket.
func Addr(i int) string {
	if i < 0 || i >= 2*256*256-4 {
		panic(fmt.Sprintf("memnet: address index %d out of range [0, %d)", i, 2*256*256-4))
	}
	n := i + 1 // skip 198.18.0.0
	ip := net.IPv4(198, byte(18+n/65536), byte(n/256%256), byte(n%256))
	return net.JoinHostPort(ip.String(), strconv.Itoa(DefaultPort))
}

// memAddr is a net.Addr for a memnet address; String gives "ip:port" as
// memberlist expects of a packet's From.
type memAddr string

// Network implements net.Addr.
func (memAddr) Network() string { return "memnet" }

// String implements net.Addr.
func (a memAddr) String() string { return string(a) }

// parseAddr splits "ip:port" into its parts, checking both.
func parseAddr(addr string) (net.IP, int, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, 0, fmt.Errorf("memnet: address %q is not ip:port: %w", addr, err)
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return nil, 0, fmt.Errorf("memnet: address %q: %q is not an IP address", addr, host)
	}
	if ip4 := ip.To4(); ip4 != nil {
		ip = ip4
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port <= 0 || port > 65535 {
		return nil, 0, fmt.Errorf("memnet: address %q: port must be 1-65535", addr)
	}
	return ip, port, nil
}
