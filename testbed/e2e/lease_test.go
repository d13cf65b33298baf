package e2e

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// actingActions are the decisions only a coordinator that acts makes.
var actingActions = map[coordinator.Action]bool{
	coordinator.ActionReplace:   true,
	coordinator.ActionTopUp:     true,
	coordinator.ActionLaunch:    true,
	coordinator.ActionTerminate: true,
	coordinator.ActionPrune:     true,
}

// Every agent runs the coordinator: exactly one holds the S3 lease, all
// agree on who and in which epoch, and every replacement decision and
// action, in every agent's memory and in the S3 ledger, comes from that
// holder in that epoch.
func TestOnlyTheLeaseHolderActs(t *testing.T) {
	t.Parallel()
	f := startFarm(t, farmOpts{nodes: 5})
	leader, st := f.leader()
	f.eventually(formTimeout, func(r *testutil.R) {
		for _, in := range Running(f.tb) {
			s, err := CoordinatorStatus(f.ctx, in.Socket)
			if err != nil {
				r.Fatalf("%s: %v", in.ID, err)
			}
			if s.Holder != leader.ID || s.Epoch != st.Epoch {
				r.Fatalf("%s sees the lease held by %q in epoch %d, want %s in %d", in.ID, s.Holder, s.Epoch, leader.ID, st.Epoch)
			}
		}
	})
	var lease struct {
		Holder string `json:"holder"`
		Epoch  uint64 `json:"epoch"`
	}
	if err := json.Unmarshal(f.object("lease"), &lease); err != nil {
		t.Fatalf("lease object: %v", err)
	}
	if lease.Holder != leader.ID || lease.Epoch != st.Epoch {
		t.Errorf("S3 lease %+v, want holder %s epoch %d", lease, leader.ID, st.Epoch)
	}
	f.consistently(2*time.Second, func() error {
		l, _, err := Leader(f.ctx, f.tb)
		if err != nil || l.ID != leader.ID {
			return fmt.Errorf("leadership moved or split without a failure: %s, %v", l.ID, err)
		}
		return nil
	})

	victim := f.others(leader.ID)[0]
	timing, err := MeasureReplacement(f.ctx, f.tb, victim, healTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if timing.Leader != leader.ID {
		t.Errorf("the replacement was decided by %s, the lease holder is %s", timing.Leader, leader.ID)
	}
	f.eventually(healTimeout, func(r *testutil.R) {
		if l := f.ledger(); len(l.Batches) > 0 {
			r.Fatalf("ledger still has %d batch(es)", len(l.Batches))
		}
	})

	acts := map[coordinator.Action]int{}
	check := func(where string, d coordinator.Decision) {
		if !actingActions[d.Action] {
			return
		}
		acts[d.Action]++
		if d.Holder != leader.ID || d.Epoch != st.Epoch {
			t.Errorf("%s: %s decision by %q in epoch %d; only %s (epoch %d) may act: %+v", where, d.Action, d.Holder, d.Epoch, leader.ID, st.Epoch, d)
		}
	}
	for _, in := range Running(f.tb) {
		for _, d := range f.history(in.ID) {
			check("memory of "+in.ID, d)
		}
	}
	for _, a := range []coordinator.Action{coordinator.ActionReplace, coordinator.ActionTerminate, coordinator.ActionLaunch, coordinator.ActionPrune} {
		if acts[a] != 1 {
			t.Errorf("%d %s decisions across all agents, want exactly 1 (by the holder)", acts[a], a)
		}
	}
	l := f.ledger()
	if l.Holder != leader.ID || l.Epoch != st.Epoch {
		t.Errorf("ledger last written by %q in epoch %d, want %s in %d", l.Holder, l.Epoch, leader.ID, st.Epoch)
	}
	for _, d := range l.Decisions {
		check("S3 ledger", d)
	}
}
