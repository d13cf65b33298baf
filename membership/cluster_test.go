package membership

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/farmhand/farmhand/testbed/testutil"
	"github.com/jonboulle/clockwork"
)

func TestFiveNodesConverge(t *testing.T) {
	nodes := startN(t, "conv", 5, nil)
	for i, c := range nodes {
		ms := c.Members()
		if !sort.SliceIsSorted(ms, func(a, b int) bool { return ms[a].Name < ms[b].Name }) {
			t.Errorf("node %d: Members not sorted by name: %v", i, ms)
		}
		for _, m := range ms {
			if m.Tags["name"] != m.Name || m.Tags["role"] != "worker" {
				t.Errorf("node %d sees %s with tags %v, want name=%s role=worker", i, m.Name, m.Tags, m.Name)
			}
			if m.Since.IsZero() {
				t.Errorf("node %d sees %s with zero Since", i, m.Name)
			}
		}
		if got := c.LocalMember(); got.Name != c.cfg.Name || got.Status != StatusAlive || got.Addr != c.cfg.BindAddr {
			t.Errorf("node %d LocalMember = %+v", i, got)
		}
		wantJoins := uint64(1)
		if i == 0 {
			wantJoins = 0
		}
		if s := c.Stats(); s.Joins != wantJoins || s.Alive != 5 {
			t.Errorf("node %d Stats = %+v, want Joins %d and Alive 5", i, s, wantJoins)
		}
	}
}

func TestLeaveShowsLeft(t *testing.T) {
	nodes := startN(t, "leave", 3, nil)
	rec := record(t, nodes[0])
	leaver := nodes[2]
	if err := leaver.Leave(5 * time.Second); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	waitStatus(t, nodes[:2], "leave-2", StatusLeft)
	if got := leaver.LocalMember().Status; got != StatusLeft {
		t.Errorf("leaver's own status = %q, want left", got)
	}
	if got := rec.statuses("leave-2"); len(got) != 1 || got[0] != StatusLeft {
		t.Errorf("node 0 saw leave-2 move to %v, want exactly [left]", got)
	}
	if err := leaver.Leave(time.Second); err != nil {
		t.Errorf("second Leave: %v", err)
	}
	if err := leaver.UpdateTags(map[string]string{"a": "b"}); err == nil {
		t.Error("UpdateTags after Leave succeeded, want an error")
	}
	if err := leaver.Shutdown(); err != nil {
		t.Errorf("Shutdown after Leave: %v", err)
	}
	// Still left, not dead, once it stops answering probes.
	waitStatus(t, nodes[:2], "leave-2", StatusLeft)
}

func TestLeaveAndShutdownInEitherOrder(t *testing.T) {
	c := start(t, localConfig(t, "order"))
	ch, _ := c.Subscribe(4)
	if err := c.Shutdown(); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := c.Shutdown(); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	if err := c.Leave(time.Second); !errors.Is(err, ErrShutdown) {
		t.Errorf("Leave after Shutdown = %v, want ErrShutdown", err)
	}
	if err := c.UpdateTags(nil); !errors.Is(err, ErrShutdown) {
		t.Errorf("UpdateTags after Shutdown = %v, want ErrShutdown", err)
	}
	if _, err := c.Join(context.Background(), []string{"127.0.0.1:1"}); err == nil {
		t.Error("Join after Shutdown succeeded")
	}
	for range ch {
	}
	if _, ok := <-ch; ok {
		t.Error("subscription still open after Shutdown")
	}
	if late, _ := c.Subscribe(1); late != nil {
		if _, ok := <-late; ok {
			t.Error("Subscribe after Shutdown returned an open channel")
		}
	}

	alone := start(t, localConfig(t, "order2"))
	if err := alone.Leave(time.Second); err != nil {
		t.Errorf("Leave alone: %v", err)
	}
	if err := alone.Leave(time.Second); err != nil {
		t.Errorf("second Leave: %v", err)
	}
	if err := alone.Shutdown(); err != nil {
		t.Errorf("Shutdown after Leave: %v", err)
	}
}

func TestShutdownWithoutLeaveIsDeadThenReaped(t *testing.T) {
	clock := clockwork.NewFakeClock()
	const reap = time.Hour
	nodes := startN(t, "crash", 4, func(c *Config) {
		c.Clock = clock
		c.ReapTime = reap
	})
	survivors := nodes[:3]
	recs := make([]*recorder, len(survivors))
	for i, c := range survivors {
		recs[i] = record(t, c)
	}
	if err := nodes[3].Shutdown(); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, survivors, "crash-3", StatusDead)

	// Some survivor's own probe failed first: memberlist logged the
	// suspicion, and that survivor saw alive -> suspect -> dead.
	sawSuspect := false
	for _, r := range recs {
		got := r.statuses("crash-3")
		if len(got) == 2 && got[0] == StatusSuspect && got[1] == StatusDead {
			sawSuspect = true
		}
		if len(got) == 0 || got[len(got)-1] != StatusDead {
			t.Errorf("a survivor saw crash-3 move to %v, want it to end dead", got)
		}
	}
	if !sawSuspect {
		t.Error("no survivor saw crash-3 as suspect before dead (has memberlist's suspect log line changed?)")
	}

	// The dead member stays until ReapTime has passed on the Clock.
	before := survivors[0].LastChange()
	clock.Advance(reap / 2)
	testutil.Run(t, settle, func(r *testutil.R) {
		if s := survivors[0].Stats(); s.Dead != 1 {
			r.Fatalf("after half the reap time: Stats = %+v, want 1 dead", s)
		}
	})
	clock.Advance(reap / 2)
	testutil.Run(t, settle, func(r *testutil.R) {
		for i, c := range survivors {
			if got := statusOf(c, "crash-3"); got != "" {
				r.Fatalf("%s still shows crash-3 as %q after ReapTime", c.cfg.Name, got)
			}
			if !recs[i].has("crash-3", EventReap) {
				r.Fatalf("%s reaped crash-3 but sent no EventReap", c.cfg.Name)
			}
		}
	})
	if after := survivors[0].LastChange(); !after.After(before) {
		t.Errorf("LastChange did not move on reap: before %v, after %v", before, after)
	}
	waitAlive(t, survivors, 3)
}

func TestUpdateTagsPropagates(t *testing.T) {
	nodes := startN(t, "tags", 3, nil)
	rec := record(t, nodes[2])
	want := map[string]string{"role": "db", "az": "eu-west-1a"}
	if err := nodes[0].UpdateTags(want); err != nil {
		t.Fatalf("UpdateTags: %v", err)
	}
	testutil.Run(t, settle, func(r *testutil.R) {
		for _, c := range nodes {
			for _, m := range c.Members() {
				if m.Name == "tags-0" && (len(m.Tags) != 2 || m.Tags["role"] != "db" || m.Tags["az"] != "eu-west-1a") {
					r.Fatalf("%s sees tags-0 with %v, want %v", c.cfg.Name, m.Tags, want)
				}
			}
		}
	})
	if !rec.has("tags-0", EventUpdate) {
		t.Error("no EventUpdate for tags-0")
	}
	if got := nodes[0].Tags(); got["role"] != "db" {
		t.Errorf("Tags() = %v", got)
	}

	big := map[string]string{"blob": strings.Repeat("x", 600)}
	err := nodes[0].UpdateTags(big)
	if !errors.Is(err, ErrMetaTooLarge) || !strings.Contains(err.Error(), "512") {
		t.Errorf("UpdateTags(600-byte tag) = %v, want ErrMetaTooLarge naming the 512-byte limit", err)
	}
	if got := nodes[0].Tags(); got["role"] != "db" {
		t.Errorf("a rejected UpdateTags changed the tags to %v", got)
	}
	cfg := localConfig(t, "tags-big")
	cfg.Tags = big
	if _, err := Create(cfg); err == nil || !strings.Contains(err.Error(), "Config.Tags") {
		t.Errorf("Create with oversize tags = %v, want an error naming Config.Tags", err)
	}
}

func TestDifferentClustersNeverMerge(t *testing.T) {
	a := startN(t, "labela", 2, func(c *Config) { c.Cluster = "a-" + clusterName(t) })
	b := startN(t, "labelb", 2, func(c *Config) { c.Cluster = "b-" + clusterName(t) })
	ctx, cancel := context.WithTimeout(context.Background(), settle)
	defer cancel()
	if n, err := b[0].Join(ctx, []string{addrOf(a[0])}); err == nil || n != 0 {
		t.Errorf("join across clusters = %d, %v; want 0 and an error", n, err)
	}
	if n, err := a[1].Join(ctx, []string{addrOf(b[1])}); err == nil || n != 0 {
		t.Errorf("join across clusters = %d, %v; want 0 and an error", n, err)
	}
	// A third member joining cluster a takes a full gossip round to be
	// seen everywhere; by then any cross-cluster merge would show too.
	a = append(a, start(t, func() *Config {
		c := localConfig(t, "labela-2")
		c.Cluster = "a-" + clusterName(t)
		return c
	}()))
	join(t, a[2], a[1])
	waitAlive(t, a, 3)
	waitAlive(t, b, 2)
	if s := b[0].Stats(); s.JoinFailures != 1 {
		t.Errorf("JoinFailures = %d, want 1", s.JoinFailures)
	}
}

func TestWrongKeyCannotJoin(t *testing.T) {
	k1, k2 := mustKey(t), mustKey(t)
	a := startN(t, "key", 2, func(c *Config) { c.Keys = [][]byte{k1} })
	ctx, cancel := context.WithTimeout(context.Background(), settle)
	defer cancel()

	wrong := localConfig(t, "key-wrong")
	wrong.Keys = [][]byte{k2}
	w := start(t, wrong)
	if _, err := w.Join(ctx, []string{addrOf(a[0])}); err == nil {
		t.Error("a node with the wrong key joined")
	}
	plain := start(t, localConfig(t, "key-none"))
	if _, err := plain.Join(ctx, []string{addrOf(a[0])}); err == nil {
		t.Error("a node without a key joined an encrypted cluster")
	}
	right := localConfig(t, "key-right")
	right.Keys = [][]byte{k1}
	a = append(a, start(t, right))
	join(t, a[2], a[0])
	waitAlive(t, a, 3)
	waitAlive(t, []*Cluster{w}, 1)
	waitAlive(t, []*Cluster{plain}, 1)
}
