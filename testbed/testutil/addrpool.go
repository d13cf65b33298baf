package testutil

import (
	"fmt"
	"net"
	"sync"
	"testing"
)

// The pool hands out distinct loopback addresses from 127.100.0.1 upwards
// so that in-process clusters can all use the same gossip port, as real
// instances do. Linux routes all of 127.0.0.0/8 to lo.
var pool struct {
	sync.Mutex
	next int
	free []net.IP
}

// TakeIP returns a loopback address no other caller in this process holds,
// and releases it when t ends.
func TakeIP(t testing.TB) net.IP {
	t.Helper()
	ip := takeIP()
	t.Cleanup(func() { releaseIP(ip) })
	return ip
}

func takeIP() net.IP {
	pool.Lock()
	defer pool.Unlock()
	if n := len(pool.free); n > 0 {
		ip := pool.free[n-1]
		pool.free = pool.free[:n-1]
		return ip
	}
	// 127.100.0.1 upwards: clear of 127.0.0.1 services and of the testbed's
	// instance range (127.0.1.x and up), which other processes may use.
	n := pool.next
	pool.next++
	if n >= 250*150 {
		panic(fmt.Sprintf("testutil: loopback pool exhausted after %d addresses", n))
	}
	return net.IPv4(127, byte(100+n/(250*250)), byte((n/250)%250), byte(1+n%250)).To4()
}

func releaseIP(ip net.IP) {
	pool.Lock()
	defer pool.Unlock()
	pool.free = append(pool.free, ip)
}

// FreePort returns a TCP port that was free on ip at the time of the call,
// also free for UDP. Prefer binding port 0 where the code allows it.
func FreePort(t testing.TB, ip net.IP) int {
	t.Helper()
	for i := 0; i < 20; i++ {
		l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: ip})
		if err != nil {
			t.Fatalf("freeport: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port})
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatalf("freeport: no port free for both tcp and udp on %s", ip)
	return 0
}
