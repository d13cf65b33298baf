package e2e

import (
	"bytes"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// keySettle is how long each rotation step is watched after every agent
// has reloaded: many probe intervals and more than one push-pull interval
// of the local gossip profile, so a node that can no longer talk to the
// others would be suspected and declared dead within it.
const keySettle = 4 * time.Second

// mixedSettle is how long each mixed state (some agents on a rotation step,
// the others still on the previous one) is watched: several suspicion
// timeouts of the local gossip profile.
const mixedSettle = 1500 * time.Millisecond

// Log lines the rotation test reads in the agents' logs.
var (
	// logReloaded is agent.Reload's line for an applied reload.
	logReloaded = []byte("configuration reloaded")
	// logKeysChanged is its attribute for a change of gossip keys.
	logKeysChanged = []byte("keys=true")
	// logReloadFailed is the agent command's line for a refused reload.
	logReloadFailed = []byte("reload failed")
	// logMarkedFailed is memberlist's line when a suspect is declared dead.
	logMarkedFailed = []byte("as failed, suspect timeout reached")
	// logAlone is the ready reason of an agent no registry candidate
	// answered.
	logAlone = []byte("registry candidates answered; running alone")
)

// Gossip key rotation across a live cluster, as docs/security.md tells an
// operator to do it: each step rewrites the key file every agent reads
// (gossip.key_file) and reloads the agents with SIGHUP one at a time, and
// the next step starts only when every agent has applied the previous one.
// In every mixed state and after each step no agent loses any member. At
// the end a machine booted with only the old key cannot join, and one with
// the new key can.
func TestGossipKeyRotationLosesNoNode(t *testing.T) {
	t.Parallel()
	const n = 4
	k1, k2 := newGossipKey(t), newGossipKey(t)
	f := startFarm(t, farmOpts{nodes: n, noCoordinator: true, gossipKeys: [][]byte{k1}})
	agents := Running(f.tb)
	logStart := map[string]int{}
	for _, in := range agents {
		logStart[in.ID] = len(readLog(t, in.Log))
	}

	steps := []struct {
		what string
		keys [][]byte
	}{
		{"add the new key (the old one stays primary)", [][]byte{k1, k2}},
		{"make the new key primary (the old one still decrypts)", [][]byte{k2, k1}},
		{"remove the old key", [][]byte{k2}},
	}
	for i, st := range steps {
		f.writeKeys(st.keys...)
		// One agent at a time, as configuration management rolls a
		// change out: every mixed state of old and new step is watched.
		for _, in := range agents {
			if err := syscall.Kill(in.PID, syscall.SIGHUP); err != nil {
				t.Fatalf("step %d: SIGHUP to %s (pid %d): %v", i+1, in.ID, in.PID, err)
			}
			f.watchNoneLost(n, healTimeout, func() error {
				log := readLog(t, in.Log)[logStart[in.ID]:]
				if bytes.Contains(log, logReloadFailed) {
					t.Fatalf("step %d: agent %s refused the reload:\n%s", i+1, in.ID, tail(in.Log, 5))
				}
				if got := countLines(log, logReloaded, logKeysChanged); got < i+1 {
					return fmt.Errorf("agent %s applied %d key reloads, want %d", in.ID, got, i+1)
				}
				return nil
			})
			f.watchNoneLost(n, mixedSettle, func() error { return errWatching })
		}
		f.watchNoneLost(n, keySettle, func() error { return errWatching })
		f.eventually(healTimeout, func(r *testutil.R) {
			if err := AllSeeAlive(f.ctx, f.tb, n); err != nil {
				r.Fatalf("step %d: %v", i+1, err)
			}
		})
		t.Logf("step %d, %s: every agent reloaded, none lost a member", i+1, st.what)
	}
	for _, in := range agents {
		if log := readLog(t, in.Log)[logStart[in.ID]:]; bytes.Contains(log, logMarkedFailed) {
			t.Fatalf("agent %s declared a member dead during the rotation:\n%s", in.ID, tail(in.Log, 20))
		}
	}

	// A machine baked with the old key only: it runs, but nobody answers
	// it and nobody sees it.
	f.writeKeys(k1)
	ids, err := f.tb.Launch(f.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	stale := f.instance(ids[0])
	// Launch returns once the process runs; its local API answers only
	// once it has read its configuration, and with it the key file.
	f.eventually(formTimeout, func(r *testutil.R) {
		if _, err := View(f.ctx, stale.Socket); err != nil {
			r.Fatalf("the old-key agent %s: %v", stale.ID, err)
		}
	})
	f.writeKeys(k2)
	f.eventually(formTimeout, func(r *testutil.R) {
		if !bytes.Contains(readLog(t, stale.Log), logAlone) {
			r.Fatalf("the old-key agent %s has not given up joining yet", stale.ID)
		}
	})
	f.consistently(keySettle, func() error {
		for _, in := range agents {
			view, err := View(f.ctx, in.Socket)
			if err != nil {
				return fmt.Errorf("agent %s: %w", in.ID, err)
			}
			if m, ok := view[stale.ID]; ok {
				return fmt.Errorf("agent %s sees the old-key agent %s (%s)", in.ID, stale.ID, m.Status)
			}
		}
		view, err := View(f.ctx, stale.Socket)
		if err != nil {
			return fmt.Errorf("old-key agent %s: %w", stale.ID, err)
		}
		if len(view) != 1 {
			return fmt.Errorf("the old-key agent %s sees %d members, want only itself", stale.ID, len(view))
		}
		return nil
	})
	if err := f.tb.Stop(f.ctx, stale.ID); err != nil {
		t.Fatal(err)
	}

	// A machine with the new key joins.
	ids, err = f.tb.Launch(f.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	f.eventually(formTimeout, func(r *testutil.R) {
		if err := AllSeeAlive(f.ctx, f.tb, n+1); err != nil {
			r.Fatalf("the new-key agent %s has not joined: %v", ids[0], err)
		}
	})
}

// errWatching keeps watchNoneLost watching for its whole duration.
var errWatching = fmt.Errorf("still watching")

// watchNoneLost checks every 50ms, until done returns nil or d passes,
// that every running agent sees all n members and none of them dead; it
// fails the test at the first violation, or when d passes before done
// (unless done returns errWatching, which just watches for d).
func (f *farm) watchNoneLost(n int, d time.Duration, done func() error) {
	f.t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, in := range Running(f.tb) {
			view, err := View(f.ctx, in.Socket)
			if err != nil {
				f.t.Fatalf("agent %s: %v", in.ID, err)
			}
			if len(view) != n {
				f.t.Fatalf("agent %s sees %d members, want %d", in.ID, len(view), n)
			}
			for _, m := range view {
				if m.Status == membership.StatusDead || m.Status == membership.StatusLeft {
					f.t.Fatalf("agent %s sees %s %s since %s", in.ID, m.Name, m.Status, m.Since.Format(time.StampMilli))
				}
			}
		}
		err := done()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			if err == errWatching {
				return
			}
			f.t.Fatalf("not done after %s: %v", d, err)
		}
		<-tick.C
	}
}

// newGossipKey is a fresh AES-256 gossip key.
func newGossipKey(t *testing.T) []byte {
	t.Helper()
	k, err := membership.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// readLog reads an agent's log file.
func readLog(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// countLines counts the lines of log that contain every one of subs.
func countLines(log []byte, subs ...[]byte) int {
	n := 0
	for line := range bytes.Lines(log) {
		all := true
		for _, s := range subs {
			all = all && bytes.Contains(line, s)
		}
		if all {
			n++
		}
	}
	return n
}
