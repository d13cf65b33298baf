package membership

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/farmhand/farmhand/testbed/testutil"
)

// hungPeer accepts TCP connections and never answers, like an instance
// that is up but wedged: a push/pull to it waits for the full TCPTimeout.
// Closing it (at test cleanup) also closes the held connections.
func hungPeer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(testutil.TakeIP(t).String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// TestJoinIsConcurrent gives Join two wedged candidates before a good one.
// With a 30 s TCPTimeout a serial join would need a minute to reach the
// good one; the context allows 10 s, so only concurrent attempts pass.
func TestJoinIsConcurrent(t *testing.T) {
	good := start(t, localConfig(t, "conc-good"))
	cfg := localConfig(t, "conc-joiner")
	cfg.Memberlist.TCPTimeout = 30 * time.Second
	cfg.JoinFanout = 3
	joiner := start(t, cfg)
	// Registered after the clusters, so it runs before their Shutdown and
	// releases the attempts still waiting on the wedged peers.
	h1, h2 := hungPeer(t), hungPeer(t)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := joiner.Join(ctx, []string{h1, h2, addrOf(good)})
	if err != nil || n != 1 {
		t.Fatalf("Join = %d, %v; want 1, nil", n, err)
	}
	waitAlive(t, []*Cluster{good, joiner}, 2)
}

// TestJoinIsBoundedByContext joins a wedged peer: Join must return at its
// context's deadline, and Shutdown must abort the attempt still in flight
// instead of waiting out the 30 s TCPTimeout.
func TestJoinIsBoundedByContext(t *testing.T) {
	h := hungPeer(t) // cleaned up after the cluster: it stays wedged
	cfg := localConfig(t, "ctx-joiner")
	cfg.Memberlist.TCPTimeout = 30 * time.Second
	joiner := start(t, cfg)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	n, err := joiner.Join(ctx, []string{h})
	if n != 0 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Join to a wedged peer = %d, %v; want 0 and context.DeadlineExceeded", n, err)
	}
	if s := joiner.Stats(); s.JoinFailures != 1 || s.Joins != 0 {
		t.Errorf("Stats = %+v, want one join failure", s)
	}
	done := make(chan error, 1)
	go func() { done <- joiner.Shutdown() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown waited for the wedged join attempt (TCPTimeout 30s)")
	}
}

func TestJoinFailures(t *testing.T) {
	c := start(t, localConfig(t, "fail-joiner"))
	ctx := context.Background()

	if _, err := c.Join(ctx, []string{addrOf(c), " ", ""}); err == nil || !strings.Contains(err.Error(), "no candidates") {
		t.Errorf("Join(self only) = %v, want a no-candidates error", err)
	}
	// Nothing listens on port 1 of a fresh loopback address: refused at once.
	dead := net.JoinHostPort(testutil.TakeIP(t).String(), "1")
	_, err := c.Join(ctx, []string{dead, dead})
	if err == nil || !strings.Contains(err.Error(), "none of 1 candidates") || strings.Contains(err.Error(), "\n") {
		t.Errorf("Join(refused) = %q, want one line saying none of 1 (deduplicated) candidates answered", err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Join(canceled, []string{dead}); !errors.Is(err, context.Canceled) {
		t.Errorf("Join(canceled ctx) = %v, want context.Canceled", err)
	}
}

func TestCandidates(t *testing.T) {
	c := start(t, localConfig(t, "cands"))
	self := c.LocalMember()
	port := self.Port
	got := c.candidates([]string{
		addrOf(c), "10.0.0.1:7946", "10.0.0.1:7946", "10.0.0.2", self.Addr, " 10.0.0.3:1 ", "::1",
	})
	want := []string{
		"10.0.0.1:7946",
		net.JoinHostPort("10.0.0.2", itoa(port)),
		"10.0.0.3:1",
		net.JoinHostPort("::1", itoa(port)),
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("candidates = %v, want %v", got, want)
	}
}
