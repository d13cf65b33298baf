package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/testbed/ec2emu"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// kill-agent on a healthy instance: the agent is dead in gossip, EC2 says
// the machine runs and is healthy. With silent_grace 0 (never) it is
// reported as "agent down, machine healthy" and not replaced, however long
// it stays silent; here several dead_grace.
func TestKillAgentOnHealthyInstanceIsNotReplaced(t *testing.T) {
	t.Parallel()
	f := startFarm(t, farmOpts{nodes: 5})
	leader, _ := f.leader()
	runs, terms := f.tb.EC2().CallCount("RunInstances"), f.tb.EC2().CallCount("TerminateInstances")
	victim := f.others(leader.ID)[0]
	if err := f.tb.KillAgent(victim); err != nil {
		t.Fatal(err)
	}

	var report coordinator.Decision
	f.eventually(healTimeout, func(r *testutil.R) {
		d, ok := findDecision(f.history(leader.ID), coordinator.ActionReport, coordinator.CodeSilent, victim)
		if !ok {
			r.Fatalf("leader %s has not reported %s silent", leader.ID, victim)
		}
		report = d
	})
	if !strings.Contains(report.Reason, "agent down, machine healthy") {
		t.Errorf("silent report reason %q does not say agent down, machine healthy", report.Reason)
	}
	if ev := report.Evidence; ev == nil || ev.GossipStatus != "dead" || ev.EC2State != "running" || ev.EC2Status == "impaired" {
		t.Errorf("silent report evidence %+v, want gossip dead, EC2 running and not impaired", report.Evidence)
	}

	f.waitDeadFor(leader.ID, deadGrace, victim)
	f.consistently(quiet, func() error {
		if n := f.tb.EC2().CallCount("RunInstances"); n != runs {
			return fmt.Errorf("RunInstances called %d times for a silent agent", n-runs)
		}
		if n := f.tb.EC2().CallCount("TerminateInstances"); n != terms {
			return fmt.Errorf("TerminateInstances called %d times for a silent agent", n-terms)
		}
		return nil
	})
	if in, ok := f.tb.EC2().Instance(victim); !ok || in.State != ec2emu.StateRunning {
		t.Errorf("the silent instance %s is %q in EC2, want running", victim, in.State)
	}
	plan, err := f.client(leader.ID).CoordinatorPlan(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Groups) != 1 || len(plan.Groups[0].Replace) != 0 || plan.Groups[0].TopUp != 0 {
		t.Errorf("plan %+v: want nothing to replace or top up", plan.Groups)
	}
	if d, ok := findDecision(plan.Decisions, coordinator.ActionReport, coordinator.CodeSilent, victim); !ok {
		t.Errorf("plan decisions %+v: want the silent report for %s", plan.Decisions, victim)
	} else {
		t.Logf("plan says: %s", d.Reason)
	}
	for _, d := range f.history(leader.ID) {
		if d.Instance == victim && d.Action == coordinator.ActionReplace {
			t.Errorf("replace decision for the silent instance: %+v", d)
		}
	}
}
