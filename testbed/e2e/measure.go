package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// ReplacementTiming is how long the farm took to heal one crash, split at
// the three witnesses' hand-offs. Times come from the agents' views (the
// Since of a status), the leader's decision log and the EC2 emulator's
// launch time, all on this machine's clock, so polling does not blur them.
type ReplacementTiming struct {
	// Victim is the crashed instance, Replacement the one launched for it,
	// and Leader the coordinator that decided.
	Victim, Replacement, Leader string
	// Detection is crash -> the victim dead in the leader's gossip view.
	Detection time.Duration
	// Decision is dead -> RunInstances; it is Verdict + Act.
	Decision time.Duration
	// Verdict is dead -> the leader's replace decision: dead_grace plus the
	// wait for the next tick.
	Verdict time.Duration
	// Act is the replace decision -> RunInstances (terminate, ledger write).
	Act time.Duration
	// LaunchToJoin is RunInstances -> the replacement alive in every
	// running agent's view (its boot, registration and join included).
	LaunchToJoin time.Duration
	// Total is crash -> the replacement alive in every running agent's view.
	Total time.Duration
}

// String is a one-line summary.
func (r ReplacementTiming) String() string {
	ms := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	return fmt.Sprintf("detection %s, decision %s (verdict %s + act %s), launch-to-join %s, total %s",
		ms(r.Detection), ms(r.Decision), ms(r.Verdict), ms(r.Act), ms(r.LaunchToJoin), ms(r.Total))
}

// MeasureReplacement crashes victim (SIGKILL, EC2 status impaired) and
// waits up to timeout for its replacement to be alive in every running
// agent's view. It fails if the victim is replaced more than once. The
// victim should be older than the coordinator's new_instance_grace, or the
// wait for it is counted in Verdict.
func MeasureReplacement(ctx context.Context, tb *testbed.Testbed, victim string, timeout time.Duration) (ReplacementTiming, error) {
	r := ReplacementTiming{Victim: victim}
	crashAt := time.Now()
	if err := tb.Crash(victim); err != nil {
		return r, err
	}
	var joinedAt, launchAt time.Time
	err := testutil.Poll(timeout, 20*time.Millisecond, func(p *testutil.R) {
		reps := ReplacementsOf(tb.EC2(), victim)
		switch {
		case len(reps) == 0:
			p.Fatalf("no instance launched to replace %s", victim)
		case len(reps) > 1:
			p.Fatalf("%s replaced %d times", victim, len(reps))
		}
		at, err := AliveEverywhere(ctx, tb, reps[0].ID)
		if err != nil {
			p.Fatalf("replacement %s launched, not joined everywhere: %v", reps[0].ID, err)
		}
		r.Replacement, launchAt, joinedAt = reps[0].ID, reps[0].LaunchTime, at
	})
	if err != nil {
		return r, fmt.Errorf("crash of %s not healed: %w", victim, err)
	}
	if n := len(ReplacementsOf(tb.EC2(), victim)); n != 1 {
		return r, fmt.Errorf("%s replaced %d times", victim, n)
	}
	leader, decidedAt, err := replaceDecision(ctx, tb, victim)
	if err != nil {
		return r, err
	}
	view, err := View(ctx, leader.Socket)
	if err != nil {
		return r, fmt.Errorf("leader %s: %w", leader.ID, err)
	}
	dead, ok := view[victim]
	if !ok || dead.Status != membership.StatusDead {
		return r, fmt.Errorf("leader %s sees the victim %s as %q, want dead", leader.ID, victim, dead.Status)
	}
	r.Leader = leader.ID
	r.Detection = dead.Since.Sub(crashAt)
	r.Verdict = decidedAt.Sub(dead.Since)
	r.Act = launchAt.Sub(decidedAt)
	r.Decision = launchAt.Sub(dead.Since)
	r.LaunchToJoin = joinedAt.Sub(launchAt)
	r.Total = joinedAt.Sub(crashAt)
	return r, nil
}

// replaceDecision finds the running coordinator that decided to replace
// victim, and when.
func replaceDecision(ctx context.Context, tb *testbed.Testbed, victim string) (testbed.InstanceState, time.Time, error) {
	var errs []error
	for _, in := range Running(tb) {
		ds, err := History(ctx, in.Socket)
		if err != nil {
			errs = append(errs, fmt.Errorf("agent %s: %w", in.ID, err))
			continue
		}
		for _, d := range ds {
			if d.Action == coordinator.ActionReplace && d.Instance == victim && !d.DryRun {
				return in, d.Time, nil
			}
		}
	}
	errs = append(errs, fmt.Errorf("no running coordinator recorded the decision to replace %s", victim))
	return testbed.InstanceState{}, time.Time{}, errors.Join(errs...)
}

// MedianTiming is the median of each figure over runs (the mean of the two
// middle values for an even count); the ids are those of the first run.
func MedianTiming(runs []ReplacementTiming) ReplacementTiming {
	if len(runs) == 0 {
		return ReplacementTiming{}
	}
	median := func(get func(ReplacementTiming) time.Duration) time.Duration {
		ds := make([]time.Duration, len(runs))
		for i, r := range runs {
			ds[i] = get(r)
		}
		slices.Sort(ds)
		n := len(ds)
		if n%2 == 1 {
			return ds[n/2]
		}
		return (ds[n/2-1] + ds[n/2]) / 2
	}
	m := runs[0]
	m.Detection = median(func(r ReplacementTiming) time.Duration { return r.Detection })
	m.Decision = median(func(r ReplacementTiming) time.Duration { return r.Decision })
	m.Verdict = median(func(r ReplacementTiming) time.Duration { return r.Verdict })
	m.Act = median(func(r ReplacementTiming) time.Duration { return r.Act })
	m.LaunchToJoin = median(func(r ReplacementTiming) time.Duration { return r.LaunchToJoin })
	m.Total = median(func(r ReplacementTiming) time.Duration { return r.Total })
	return m
}
