package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// Crash 3 of 5 at once: a mass failure freezes the group. The reason is in
// `coordinator status` (local API and CLI, JSON and text), and nothing is
// launched or terminated while it lasts.
func TestCrashThreeOfFiveFreezes(t *testing.T) {
	t.Parallel()
	f := startFarm(t, farmOpts{nodes: 5})
	leader, _ := f.leader()
	runs, terms := f.tb.EC2().CallCount("RunInstances"), f.tb.EC2().CallCount("TerminateInstances")
	victims := f.others(leader.ID)[:3]
	for _, id := range victims {
		if err := f.tb.Crash(id); err != nil {
			t.Fatal(err)
		}
	}

	var frozen coordinator.GroupStatus
	f.eventually(healTimeout, func(r *testutil.R) {
		st, err := f.client(leader.ID).CoordinatorStatus(f.ctx)
		if err != nil {
			r.Fatalf("status: %v", err)
		}
		if len(st.Groups) != 1 || !st.Groups[0].Frozen {
			r.Fatalf("leader %s reports groups %+v, want worker frozen", leader.ID, st.Groups)
		}
		frozen = st.Groups[0]
	})
	checkReason := func(where, reason string) {
		t.Helper()
		if !strings.Contains(reason, "3 of 5 members unhealthy") || !strings.Contains(reason, "exceeds freeze threshold 0.55") {
			t.Errorf("%s: freeze reason %q does not say 3 of 5 unhealthy over threshold 0.55", where, reason)
		}
	}
	checkReason("local API", frozen.FreezeReason)
	if d, ok := findDecision(f.history(leader.ID), coordinator.ActionFreeze, coordinator.CodeFrozen, ""); !ok || !strings.Contains(d.Reason, "exceeds freeze threshold") {
		t.Errorf("leader's freeze decision %+v (found %v), want one with the reason", d, ok)
	}

	// Watch the frozen farm well past dead_grace: no launch, no
	// termination, the group stays frozen.
	f.waitDeadFor(leader.ID, deadGrace, victims...)
	f.consistently(quiet, func() error {
		if n := f.tb.EC2().CallCount("RunInstances"); n != runs {
			return fmt.Errorf("RunInstances called %d times during a freeze", n-runs)
		}
		if n := f.tb.EC2().CallCount("TerminateInstances"); n != terms {
			return fmt.Errorf("TerminateInstances called %d times during a freeze", n-terms)
		}
		return nil
	})

	// The person's view: `farmhand coordinator status`, JSON and text.
	var st coordinator.Status
	if err := json.Unmarshal(f.cli("coordinator", "status", "-socket", leader.Socket, "-format", "json"), &st); err != nil {
		t.Fatalf("coordinator status -format json: %v", err)
	}
	if !st.Leader || len(st.Groups) != 1 || !st.Groups[0].Frozen {
		t.Fatalf("coordinator status -format json: leader %v, groups %+v; want leader, worker frozen", st.Leader, st.Groups)
	}
	checkReason("coordinator status -format json", st.Groups[0].FreezeReason)
	text := string(f.cli("coordinator", "status", "-socket", leader.Socket))
	line := ""
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "group worker") {
			line = l
		}
	}
	if !strings.Contains(line, "FROZEN: ") {
		t.Errorf("coordinator status (text) does not show the freeze:\n%s", text)
	}
	checkReason("coordinator status (text)", line)
	for _, d := range f.history(leader.ID) {
		if d.Action == coordinator.ActionReplace || d.Action == coordinator.ActionTopUp || d.Action == coordinator.ActionLaunch {
			t.Errorf("decision during the freeze: %+v", d)
		}
	}
	t.Logf("frozen: %s", frozen.FreezeReason)
}
