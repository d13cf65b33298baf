package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed/ec2emu"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// excludeHCL renders Hadoop's exclude lists into each instance's folder,
// with a stability window far longer than the test: a draining member
// must be excluded at once, not after the window.
func excludeHCL(id, dir string) string {
	var b strings.Builder
	for _, tmpl := range []string{"hdfs-exclude", "yarn-exclude"} {
		fmt.Fprintf(&b, "render %q {\n  template = %q\n  destination = %q\n  wait_min = \"0s\"\n  wait_max = \"2m\"\n  stable = \"2m\"\n}\n",
			tmpl, tmpl, filepath.Join(dir, tmpl))
	}
	return b.String()
}

// excludes reads the host lines of the exclude list name rendered by id.
func (f *farm) excludes(id, name string) ([]string, error) {
	return testutil.HostLines(filepath.Join(filepath.Dir(f.instance(id).Log), name))
}

// A spot interruption on real agents with the coordinator on (issue 13):
// the victim drains (every agent sees it, every exclude list takes it at
// once), the leader launches exactly one replacement at the notice, which
// is alive in every view before EC2 acts, the victim leaves gracefully and
// deletes its record before the action, and nothing more is launched or
// terminated once EC2 has taken the instance. FARMHAND_DRAIN_NOTICE
// (default 25s; 2m for EC2's real notice) sets the notice; the timeline is
// logged.
func TestSpotInterruptionReplacedBeforeTheAction(t *testing.T) {
	t.Parallel()
	notice := 25 * time.Second
	if s := os.Getenv("FARMHAND_DRAIN_NOTICE"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("FARMHAND_DRAIN_NOTICE: %v", err)
		}
		notice = d
	}
	const leaveBefore = 6 * time.Second
	f := startFarm(t, farmOpts{
		nodes: 3, spot: true, instanceHCL: excludeHCL,
		extraHCL: fmt.Sprintf("drain {\n  poll_interval = \"250ms\"\n  leave_before = %q\n}\n", leaveBefore),
	})
	leader, _ := f.leader()
	victim := f.others(leader.ID)[0]
	survivors := f.others(victim)
	victimIP := f.instance(victim).IP
	originals := map[string]bool{}
	for _, in := range f.tb.EC2().Instances() {
		originals[in.ID] = true
	}
	runs, terms := f.tb.EC2().CallCount("RunInstances"), f.tb.EC2().CallCount("TerminateInstances")
	if got := f.records(victim); len(got) != 1 {
		t.Fatalf("registry records of %s before the notice: %v, want one", victim, got)
	}
	// The start render is written once the agent is ready: wait for it
	// everywhere, so that a victim in a list is the rewrite.
	f.eventually(formTimeout, func(r *testutil.R) {
		for id := range originals {
			if hosts, err := f.excludes(id, "hdfs-exclude"); err != nil || len(hosts) != 0 {
				r.Fatalf("%s's hdfs-exclude before the notice: %v, %v", id, hosts, err)
			}
		}
	})

	posted := time.Now()
	due, err := f.tb.Interrupt(victim, "terminate", notice)
	if err != nil {
		t.Fatal(err)
	}
	beforeAction := time.Until(due)

	// Draining, in every agent's view (the victim's own included).
	f.eventually(beforeAction, func(r *testutil.R) {
		for id := range originals {
			if m, err := f.member(id, victim); err != nil || m.Status != membership.StatusDraining {
				r.Fatalf("%s sees %s as %q (%v), want draining", id, victim, m.Status, err)
			}
		}
	})
	drainingAll := time.Now()

	// Excluded at once by every agent, despite the 2-minute window.
	f.eventually(time.Until(due), func(r *testutil.R) {
		for id := range originals {
			for _, list := range []string{"hdfs-exclude", "yarn-exclude"} {
				if hosts, err := f.excludes(id, list); err != nil || !slices.Equal(hosts, []string{victimIP}) {
					r.Fatalf("%s's %s: %v, %v; want the draining %s", id, list, hosts, err, victimIP)
				}
			}
		}
	})
	excluded := time.Now()

	// One replacement, launched by the leader at the notice.
	var rep ec2emu.Instance
	f.eventually(time.Until(due), func(r *testutil.R) {
		reps := ReplacementsOf(f.tb.EC2(), victim)
		if len(reps) == 0 {
			r.Fatalf("no instance tagged %s=%s yet", coordinator.TagReplaces, victim)
		}
		rep = reps[0]
	})
	if !rep.LaunchTime.Before(due) {
		t.Errorf("the replacement %s was launched at %s, after the action at %s", rep.ID, rep.LaunchTime.Format(time.StampMilli), due.Format(time.StampMilli))
	}
	if n := f.tb.EC2().CallCount("RunInstances") - runs; n != 1 {
		t.Errorf("RunInstances called %d times for one notice, want 1", n)
	}
	if rep.Tags[coordinator.TagGroup] != "worker" || rep.Tags[coordinator.TagCluster] != f.tb.State().Cluster {
		t.Errorf("the replacement %s has tags %v", rep.ID, rep.Tags)
	}
	// The leader may have changed since startFarm; whoever leads now
	// recorded the replacement, and the S3 ledger holds it.
	f.eventually(healTimeout, func(r *testutil.R) {
		if _, ok := findDecision(f.ledger().Decisions, coordinator.ActionReplace, coordinator.CodeDraining, victim); !ok {
			r.Fatalf("the S3 ledger has no replace/draining decision for %s", victim)
		}
	})

	// The replacement is alive in every running agent's view (the
	// draining victim's included while it runs) before EC2 acts.
	f.eventually(time.Until(due), func(r *testutil.R) {
		if _, err := AliveEverywhere(f.ctx, f.tb, rep.ID); err != nil {
			r.Fatalf("%v", err)
		}
	})
	repAlive := time.Now()
	for _, id := range survivors {
		if m, err := f.member(id, rep.ID); err != nil || m.Status != membership.StatusAlive {
			t.Errorf("survivor %s sees the replacement %s as %q (%v)", id, rep.ID, m.Status, err)
		}
	}

	// The victim's graceful leave, seen by every survivor, and its
	// record gone, while EC2 still runs it.
	f.eventually(time.Until(due), func(r *testutil.R) {
		for _, id := range survivors {
			if m, err := f.member(id, victim); err != nil || m.Status != membership.StatusLeft && m.Status != membership.StatusDead {
				r.Fatalf("%s sees %s as %q (%v), want left", id, victim, m.Status, err)
			}
		}
	})
	left := time.Now()
	f.eventually(time.Until(due), func(r *testutil.R) {
		if got := f.records(victim); len(got) != 0 {
			r.Fatalf("registry records of %s after its leave: %v", victim, got)
		}
	})
	deregistered := time.Now()
	if in, _ := f.tb.EC2().Instance(victim); in.State != ec2emu.StateRunning || !deregistered.Before(due) {
		t.Errorf("left at %s and deregistered at %s with the instance %s; EC2 acts at %s: want both first",
			left.Format(time.StampMilli), deregistered.Format(time.StampMilli), in.State, due.Format(time.StampMilli))
	}
	log, err := os.ReadFile(f.instance(victim).Log)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(log); !strings.Contains(s, "leaving the cluster and deleting our record before the deadline") ||
		!strings.Contains(s, "leaving the cluster: node="+victim) || strings.Contains(s, "leave broadcast did not finish") {
		t.Errorf("%s did not leave gracefully on its own; its log:\n%s", victim, tail(f.instance(victim).Log, 40))
	}

	// EC2 acts.
	f.eventually(time.Until(due)+healTimeout, func(r *testutil.R) {
		if in, _ := f.tb.EC2().Instance(victim); in.State != ec2emu.StateTerminated {
			r.Fatalf("%s is %s", victim, in.State)
		}
	})
	terminated := time.Now()
	t.Logf("spot interruption timeline, notice %s, leave_before %s (%s replaced by %s, leader %s): draining seen by all +%s, exclude lists rewritten everywhere +%s, replacement launched +%s, alive in every view +%s, victim's leave seen by all +%s, record deleted +%s (%s before the action), terminated +%s",
		notice, leaveBefore, victim, rep.ID, leader.ID,
		drainingAll.Sub(posted).Round(time.Millisecond), excluded.Sub(posted).Round(time.Millisecond),
		rep.LaunchTime.Sub(posted).Round(time.Millisecond), repAlive.Sub(posted).Round(time.Millisecond),
		left.Sub(posted).Round(time.Millisecond), deregistered.Sub(posted).Round(time.Millisecond),
		due.Sub(deregistered).Round(time.Millisecond), terminated.Sub(posted).Round(time.Millisecond))

	// The terminated victim is not replaced again, nor topped up for, and
	// nothing else is terminated: watch several coordinator rounds.
	f.consistently(quiet, func() error {
		if n := f.tb.EC2().CallCount("RunInstances"); n != runs+1 {
			return fmt.Errorf("RunInstances called %d times since the notice, want 1", n-runs)
		}
		if n := f.tb.EC2().CallCount("TerminateInstances"); n != terms {
			return fmt.Errorf("TerminateInstances called %d times since the notice: the victim is EC2's to take", n-terms)
		}
		for _, in := range f.tb.EC2().Instances() {
			if in.ID != victim && in.State != ec2emu.StateRunning {
				return fmt.Errorf("%s is %s, want only the victim gone", in.ID, in.State)
			}
		}
		return nil
	})
	if n := f.launchedInstances(); n != len(originals)+1 {
		t.Errorf("EC2 holds %d instances, want the %d originals and one replacement", n, len(originals))
	}
	f.eventually(formTimeout, func(r *testutil.R) {
		if err := AllSeeAlive(f.ctx, f.tb, len(originals)); err != nil {
			r.Fatalf("after the interruption: %v", err)
		}
	})
}
