package membership

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// TestRestartedNodeMergesBack crashes a member, lets the others declare it
// dead, and restarts it on the same name and address without calling
// Join: the survivors' reconnect loop, or the restarted node's isolation
// rejoin through Discover, must merge it back.
func TestRestartedNodeMergesBack(t *testing.T) {
	for _, mode := range []string{"reconnect", "discover"} {
		t.Run(mode, func(t *testing.T) {
			nodes := startN(t, "heal", 3, func(c *Config) {
				// memberlist itself keeps gossiping to a dead member for
				// GossipToTheDeadTime, which would merge a quick restart
				// on its own; turn that off to test only our healing.
				c.Memberlist.GossipToTheDeadTime = 0
				// The syncs after a join push/pull with a member this
				// node still holds alive, which can be the restarted one.
				c.JoinSyncs = 0
				if mode == "discover" {
					c.ReconnectInterval = 0
				} else {
					c.IsolationCheckInterval = 0
				}
			})
			crashed := nodes[2]
			cfg := crashed.cfg // same name, address and bound port
			cfg.BindPort = crashed.LocalMember().Port
			if err := crashed.Shutdown(); err != nil {
				t.Fatal(err)
			}
			waitStatus(t, nodes[:2], "heal-2", StatusDead)

			var discoveries atomic.Int32
			seed := addrOf(nodes[0])
			if mode == "discover" {
				cfg.Discover = func(ctx context.Context) ([]string, error) {
					if discoveries.Add(1) == 1 {
						return nil, errors.New("registry unavailable") // exercises the backoff
					}
					return []string{addrOf(nodes[2]), seed}, nil
				}
			} else {
				cfg.IsolationCheckInterval = 0
			}
			nodes[2] = start(t, &cfg)
			waitAlive(t, nodes, 3)

			switch mode {
			case "reconnect":
				s0, s1 := nodes[0].Stats(), nodes[1].Stats()
				if s0.Reconnects+s1.Reconnects == 0 {
					t.Errorf("merged without a reconnect: %+v / %+v", s0, s1)
				}
				if s := nodes[2].Stats(); s.Rejoins != 0 || s.Joins != 0 {
					t.Errorf("restarted node joined by itself: %+v", s)
				}
			case "discover":
				s := nodes[2].Stats()
				if s.Rejoins == 0 || s.RejoinAttempts < 2 || discoveries.Load() < 2 {
					t.Errorf("merged without a rejoin after a failed discovery: %+v, %d discoveries", s, discoveries.Load())
				}
				if s0, s1 := nodes[0].Stats(), nodes[1].Stats(); s0.ReconnectAttempts+s1.ReconnectAttempts != 0 {
					t.Errorf("survivors reconnected with ReconnectInterval 0: %+v / %+v", s0, s1)
				}
			}
		})
	}
}

func TestIsolationIsBeingAlone(t *testing.T) {
	nodes := startN(t, "iso", 3, func(c *Config) { c.IsolationCheckInterval = 0 })
	if nodes[0].isolated() {
		t.Error("a node that sees 2 others alive counts as isolated")
	}
	// Two of three crash: the survivor holds them dead and is alone.
	for _, c := range nodes[1:] {
		if err := c.Shutdown(); err != nil {
			t.Fatal(err)
		}
	}
	waitStatus(t, nodes[:1], "iso-1", StatusDead)
	waitStatus(t, nodes[:1], "iso-2", StatusDead)
	if !nodes[0].isolated() {
		t.Error("a node whose every peer is dead does not count as isolated")
	}
	alone := start(t, localConfig(t, "iso-alone"))
	if !alone.isolated() {
		t.Error("a node alone does not count as isolated")
	}
}

// TestSurvivorsOfAPartialFailureStayQuiet crashes 5 of 8 members: the 3
// survivors still see each other, so none of them asks Discover (the S3
// registry) for anything, however long they run. Before isolation was
// judged from gossip alone, the registry's stale records made them look
// isolated and they re-listed S3 for good.
func TestSurvivorsOfAPartialFailureStayQuiet(t *testing.T) {
	var calls atomic.Int32
	nodes := startN(t, "quiet", 8, func(c *Config) {
		c.ReconnectInterval = 0
		c.Discover = func(context.Context) ([]string, error) {
			calls.Add(1)
			return nil, nil
		}
	})
	for _, c := range nodes[3:] {
		if err := c.Shutdown(); err != nil {
			t.Fatal(err)
		}
	}
	for i := 3; i < 8; i++ {
		waitStatus(t, nodes[:3], "quiet-"+strconv.Itoa(i), StatusDead)
	}
	// Ten isolation checks' worth of time, and then some.
	deadline := time.Now().Add(10 * nodes[0].cfg.IsolationCheckInterval)
	for time.Now().Before(deadline) {
		if n := calls.Load(); n != 0 {
			t.Fatalf("survivors that see each other called Discover %d times", n)
		}
		time.Sleep(nodes[0].cfg.IsolationCheckInterval / 2)
	}
}

func TestIsolationCheckBacksOffAndStopsAfterLeave(t *testing.T) {
	clock := clockwork.NewFakeClock()
	var calls atomic.Int32
	cfg := localConfig(t, "iso-backoff")
	cfg.Clock = clock
	cfg.IsolationCheckInterval = 0 // drive checkIsolation by hand
	cfg.Discover = func(context.Context) ([]string, error) {
		calls.Add(1)
		return nil, nil // nothing to join: the attempt fails
	}
	c := start(t, cfg)
	c.cfg.IsolationCheckInterval = time.Second
	c.cfg.IsolationBackoffMax = 8 * time.Second

	var s isolationState
	c.checkIsolation(&s)
	if calls.Load() != 1 || s.failures != 1 {
		t.Fatalf("first check: %d Discover calls, %d failures; want 1, 1", calls.Load(), s.failures)
	}
	c.checkIsolation(&s)
	if calls.Load() != 1 {
		t.Fatalf("a check inside the backoff called Discover")
	}
	clock.Advance(2 * time.Second) // backoff after 1 failure is within [1s, 2s]
	c.checkIsolation(&s)
	if calls.Load() != 2 || s.failures != 2 {
		t.Fatalf("check after the backoff: %d calls, %d failures; want 2, 2", calls.Load(), s.failures)
	}
	if wait := s.notBefore.Sub(clock.Now()); wait < 2*time.Second || wait > 4*time.Second {
		t.Errorf("backoff after 2 failures = %s, want within [2s, 4s]", wait)
	}
	if st := c.Stats(); st.RejoinAttempts != 2 || st.Rejoins != 0 {
		t.Errorf("Stats = %+v, want 2 rejoin attempts and no rejoin", st)
	}

	if err := c.Leave(time.Second); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	c.checkIsolation(&s)
	if calls.Load() != 2 {
		t.Error("a node that has left still rediscovers")
	}
}

func TestBackoffAndJitterBounds(t *testing.T) {
	base, limit := time.Second, 30*time.Second
	for failures := 1; failures < 70; failures++ {
		want := min(base<<min(failures, 10), limit)
		for range 50 {
			d := backoff(base, limit, failures)
			if d < want/2 || d > want {
				t.Fatalf("backoff(%d failures) = %s, want within [%s, %s]", failures, d, want/2, want)
			}
		}
	}
	for range 100 {
		if d := jitter(time.Second); d < 500*time.Millisecond || d >= 1500*time.Millisecond {
			t.Fatalf("jitter(1s) = %s, want within [0.5s, 1.5s)", d)
		}
	}
}
