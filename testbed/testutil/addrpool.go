package testutil

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

// The pool hands out distinct loopback addresses 127.K.x.y so that
// in-process clusters can all use the same gossip port, as real instances
// do. Linux routes all of 127.0.0.0/8 to lo. K (100..199) is claimed per
// test process with a file lock, so packages that `go test ./...` runs in
// parallel never hand out the same address.
//
// Addresses are never handed out twice in a process. An agent remembers a
// dead member's address and keeps dialling it to heal partitions, so an
// address freed by one test and reused by another running alongside it
// (same cluster name, same port) merged the two tests' clusters.
var pool struct {
	sync.Mutex
	next   int
	octet  int
	lockFd *os.File
}

// claimOctetLocked takes the first K in 100..199 no other process holds.
func claimOctetLocked() {
	if pool.octet != 0 {
		return
	}
	dir := filepath.Join(os.TempDir(), "farmhand-testutil")
	_ = os.MkdirAll(dir, 0o777)
	for k := 100; k < 200; k++ {
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("octet-%d.lock", k)), os.O_CREATE|os.O_RDWR, 0o666)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			pool.octet, pool.lockFd = k, f // held until the process exits
			return
		}
		f.Close()
	}
	panic("testutil: all 100 loopback blocks 127.100-199.x.y are held by other test processes")
}

// TakeIP returns a loopback address no other caller in this process has
// had (see pool).
func TakeIP(t testing.TB) net.IP {
	t.Helper()
	pool.Lock()
	defer pool.Unlock()
	claimOctetLocked()
	n := pool.next
	pool.next++
	if n >= 250*250 {
		panic(fmt.Sprintf("testutil: loopback pool exhausted after %d addresses", n))
	}
	return net.IPv4(127, byte(pool.octet), byte(n/250), byte(1+n%250)).To4()
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
