package testbed

import (
	"context"
	"testing"
	"time"
)

// outageWindow is how long S3 stays down in TestS3Outage.
const outageWindow = 10 * time.Second

// During an S3 outage the running cluster is unaffected (it needs S3 only
// to bootstrap), and an instance launched meanwhile backs off instead of
// hammering S3, then joins once S3 is back.
func TestS3OutageClusterSurvivesAndNewcomerBacksOff(t *testing.T) {
	needE2E(t)
	tb := startFarm(t, 5, nil)
	old := tb.Instances()
	oldSocks := socketsOf(t, tb.State(), old...)
	waitViews(t, formTimeout, oldSocks, aliveExactly(old...))

	if err := tb.SetS3Down(true); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	before := map[string]int{}
	for _, id := range old {
		in, _ := tb.State().Instance(id)
		before[id] = tb.S3().CountsFrom(in.IP).Total()
	}
	ctx, cancel := context.WithTimeout(context.Background(), formTimeout)
	defer cancel()
	ids, err := tb.Launch(ctx, 1)
	if err != nil {
		t.Fatalf("Launch during the outage: %v", err)
	}
	newID := ids[0]
	newIn, err := tb.State().Instance(newID)
	if err != nil {
		t.Fatal(err)
	}
	if newIn.Agent != agentRunning {
		t.Fatalf("new instance's agent is %q right after Launch, want running", newIn.Agent)
	}

	// The old members keep seeing exactly each other alive, poll after
	// poll, for the whole outage (50 of their 200 ms probe rounds); the
	// newcomer, which cannot learn of anyone, sees only itself.
	observers := socketsOf(t, tb.State(), append(append([]string{}, old...), newID)...)
	polls := holdViews(t, outageWindow-time.Since(down), oldSocks, aliveExactly(old...))
	if err := checkViews(ctx, map[string]string{newID: observers[newID]}, aliveExactly(newID)); err != nil {
		t.Fatalf("during the outage: %v", err)
	}
	window := time.Since(down)
	newReqs := tb.S3().CountsFrom(newIn.IP)
	if err := tb.SetS3Down(false); err != nil {
		t.Fatal(err)
	}

	t.Logf("S3 down for %.1fs (%d view polls): the newcomer %s made %d S3 requests (%+v)",
		window.Seconds(), polls, newIn.IP, newReqs.Total(), newReqs)
	for _, id := range old {
		in, _ := tb.State().Instance(id)
		if n := tb.S3().CountsFrom(in.IP).Total() - before[id]; n != 0 {
			t.Errorf("running member %s made %d S3 requests during the outage; a formed cluster needs none", id, n)
		}
	}
	// The newcomer tried (so the per-source count is real), but within
	// the backoff budget.
	if limit := outageRequestLimit(window); newReqs.Total() < 1 || newReqs.Total() > limit {
		t.Errorf("newcomer made %d S3 requests in a %.1fs outage; want 1 to %d (its backoff budget)",
			newReqs.Total(), window.Seconds(), limit)
	}

	// S3 is back: the newcomer registers, discovers and joins, and all six
	// see six alive.
	waitViews(t, formTimeout, observers, aliveExactly(append(append([]string{}, old...), newID)...))
}
