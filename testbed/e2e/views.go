package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/farmhand/farmhand/agent/client"
	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed"
	"github.com/farmhand/farmhand/testbed/ec2emu"
)

// queryTimeout bounds one local API call to an agent.
const queryTimeout = 2 * time.Second

// agentRunning is the testbed.json agent state of a live agent process.
const agentRunning = "running"

// Running returns the instances whose agent process runs, in launch order.
func Running(tb *testbed.Testbed) []testbed.InstanceState {
	var out []testbed.InstanceState
	for _, in := range tb.State().Instances {
		if in.Agent == agentRunning {
			out = append(out, in)
		}
	}
	return out
}

// View returns the members the agent on socket sees, by name, in every
// status.
func View(ctx context.Context, socket string) (map[string]membership.Member, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	ms, err := client.New(socket).Members(ctx, client.Filter{})
	if err != nil {
		return nil, err
	}
	out := make(map[string]membership.Member, len(ms))
	for _, m := range ms {
		out[m.Name] = m
	}
	return out, nil
}

// AliveEverywhere returns, once every running agent sees id alive, the
// latest time at which one of them saw it become alive. Otherwise it
// returns an error naming an agent that does not.
func AliveEverywhere(ctx context.Context, tb *testbed.Testbed, id string) (time.Time, error) {
	running := Running(tb)
	if !slices.ContainsFunc(running, func(in testbed.InstanceState) bool { return in.ID == id }) {
		return time.Time{}, fmt.Errorf("the agent of %s is not running (yet)", id)
	}
	var latest time.Time
	for _, in := range running {
		view, err := View(ctx, in.Socket)
		if err != nil {
			return time.Time{}, fmt.Errorf("agent %s: %w", in.ID, err)
		}
		m, ok := view[id]
		if !ok || m.Status != membership.StatusAlive {
			return time.Time{}, fmt.Errorf("agent %s sees %s as %q, want alive", in.ID, id, m.Status)
		}
		if m.Since.After(latest) {
			latest = m.Since
		}
	}
	return latest, nil
}

// AllSeeAlive reports an error unless every running agent sees exactly n
// members alive.
func AllSeeAlive(ctx context.Context, tb *testbed.Testbed, n int) error {
	running := Running(tb)
	for _, in := range running {
		view, err := View(ctx, in.Socket)
		if err != nil {
			return fmt.Errorf("agent %s: %w", in.ID, err)
		}
		var alive []string
		for name, m := range view {
			if m.Status == membership.StatusAlive {
				alive = append(alive, name)
			}
		}
		if len(alive) != n {
			slices.Sort(alive)
			return fmt.Errorf("agent %s sees %d alive (%s), want %d", in.ID, len(alive), strings.Join(alive, " "), n)
		}
	}
	return nil
}

// AllSeeNoneGone reports an error unless every running agent holds exactly
// n members, none of them dead or left (alive, draining or suspect).
func AllSeeNoneGone(ctx context.Context, tb *testbed.Testbed, n int) error {
	for _, in := range Running(tb) {
		view, err := View(ctx, in.Socket)
		if err != nil {
			return fmt.Errorf("agent %s: %w", in.ID, err)
		}
		if len(view) != n {
			return fmt.Errorf("agent %s holds %d members, want %d", in.ID, len(view), n)
		}
		for name, m := range view {
			if m.Status != membership.StatusAlive && m.Status != membership.StatusDraining && m.Status != membership.StatusSuspect {
				return fmt.Errorf("agent %s sees %s %s", in.ID, name, m.Status)
			}
		}
	}
	return nil
}

// Leader returns the one running instance whose coordinator may act now,
// and its status; an error when none or several may.
func Leader(ctx context.Context, tb *testbed.Testbed) (testbed.InstanceState, coordinator.Status, error) {
	var leaders []testbed.InstanceState
	var status coordinator.Status
	for _, in := range Running(tb) {
		st, err := CoordinatorStatus(ctx, in.Socket)
		if err != nil {
			return testbed.InstanceState{}, status, fmt.Errorf("agent %s: %w", in.ID, err)
		}
		if st.Leader {
			leaders = append(leaders, in)
			status = st
		}
	}
	if len(leaders) != 1 {
		ids := make([]string, len(leaders))
		for i, in := range leaders {
			ids[i] = in.ID
		}
		return testbed.InstanceState{}, status, fmt.Errorf("%d coordinators may act (%s), want exactly 1", len(leaders), strings.Join(ids, " "))
	}
	return leaders[0], status, nil
}

// CoordinatorStatus asks the agent on socket for its coordinator status.
func CoordinatorStatus(ctx context.Context, socket string) (coordinator.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	return client.New(socket).CoordinatorStatus(ctx)
}

// History asks the agent on socket for every decision it keeps in memory.
func History(ctx context.Context, socket string) ([]coordinator.Decision, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	return client.New(socket).CoordinatorHistory(ctx, 0)
}

// ReplacementsOf returns the EC2 instances launched to replace id (tagged
// farmhand:replaces with id among the replaced ids), oldest first.
func ReplacementsOf(ec *ec2emu.Server, id string) []ec2emu.Instance {
	var out []ec2emu.Instance
	for _, in := range ec.Instances() {
		if slices.Contains(strings.Split(in.Tags[coordinator.TagReplaces], ","), id) {
			out = append(out, in)
		}
	}
	return out
}
