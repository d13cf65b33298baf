package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/farmhand/farmhand/agent/coordinator"
)

func init() {
	register(&command{
		Name:     "coordinator",
		Synopsis: "show the coordinator: status (leader, frozen groups, pending), history, or plan (what it would do now)",
		Usage:    "status|history|plan [-socket PATH] [-format text|json] [-n N]",
		Run:      runCoordinator,
	})
}

func runCoordinator(ctx context.Context, env *cmdEnv, args []string) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		errorf(env, "coordinator", "want a verb: status, history or plan")
		return exitUsage
	}
	verb := args[0]
	fs := newFlagSet("coordinator "+verb, env)
	socket := socketFlag(fs)
	format := formatFlag(fs, "text", "json")
	n := fs.Int("n", 20, "history: how many decisions (0 = all kept)")
	if code, ok := parseFlags(fs, args[1:]); !ok {
		return code
	}
	if !noArgs(env, "coordinator "+verb, fs) {
		return exitUsage
	}
	c := agentClient(env, *socket)
	var v any
	var err error
	switch verb {
	case "status":
		v, err = c.CoordinatorStatus(ctx)
	case "history":
		v, err = c.CoordinatorHistory(ctx, *n)
	case "plan":
		v, err = c.CoordinatorPlan(ctx)
	default:
		errorf(env, "coordinator", "unknown verb %q: want status, history or plan", verb)
		return exitUsage
	}
	if err != nil {
		return clientFailure(env, "coordinator "+verb, err)
	}
	if *format == "json" {
		return writeJSON(env, "coordinator", v)
	}
	switch v := v.(type) {
	case coordinator.Status:
		writeCoordinatorStatus(env.Stdout, v)
	case []coordinator.Decision:
		writeDecisions(env.Stdout, v)
	case coordinator.Plan:
		writePlan(env.Stdout, v)
	}
	return 0
}

func writeCoordinatorStatus(w io.Writer, s coordinator.Status) {
	role := "standby (another node holds the lease)"
	if s.Leader {
		role = "LEADER (acts on dead nodes)"
	}
	fmt.Fprintf(w, "coordinator: %s\nlease:       holder %s, epoch %d\n", role, orDash(s.Holder), s.Epoch)
	if s.Leader {
		formed := "no: a new cluster, growing from its seed (quorum counted against the instances that exist)"
		if !s.Formed.IsZero() {
			formed = "since " + s.Formed.Local().Format(time.DateTime)
		}
		fmt.Fprintf(w, "formed:      %s\n", formed)
	}
	if s.DryRun {
		fmt.Fprintln(w, "mode:        dry run (no EC2 changes)")
	}
	for _, g := range s.Groups {
		state := "active"
		if g.Frozen {
			state = "FROZEN: " + g.FreezeReason
		}
		fmt.Fprintf(w, "group %-10s %s\n", g.Name, state)
	}
	fmt.Fprintf(w, "pending:     %d batch(es)\n", len(s.Pending))
	for _, b := range s.Pending {
		fmt.Fprintf(w, "  %+v\n", b)
	}
	if len(s.LastDecisions) > 0 {
		fmt.Fprintln(w, "\nrecent decisions:")
		writeDecisions(w, s.LastDecisions)
	}
}

func writeDecisions(w io.Writer, ds []coordinator.Decision) {
	if len(ds) == 0 {
		fmt.Fprintln(w, "no decisions yet")
		return
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tEPOCH\tACTION\tCODE\tGROUP\tINSTANCE\tREASON")
	for _, d := range ds {
		inst := d.Instance
		if inst == "" && len(d.Instances) > 0 {
			inst = strings.Join(d.Instances, ",")
		}
		reason := d.Reason
		if d.DryRun {
			reason = "(dry run) " + reason
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", d.Time.Local().Format(time.TimeOnly), d.Epoch, d.Action, orDash(d.Code), orDash(d.Group), orDash(inst), reason)
	}
	tw.Flush()
}

func writePlan(w io.Writer, p coordinator.Plan) {
	fmt.Fprintf(w, "plan at %s by %s (leader %v, epoch %d)\n", p.Time.Local().Format(time.TimeOnly), p.Holder, p.Leader, p.Epoch)
	fmt.Fprintf(w, "quorum: %d alive of %d (ok=%v)\n", p.Quorum.Alive, p.Quorum.Total, p.Quorum.OK)
	if p.Quorum.Bootstrap {
		fmt.Fprintln(w, "        a new cluster (never formed): counted against the members and cluster-tagged instances that exist")
	}
	for _, g := range p.Groups {
		fmt.Fprintf(w, "group %s (role %s, min %d, max %d): current %d, pending %d", g.Name, g.Role, g.Min, g.Max, g.Current, g.Pending)
		if g.Frozen {
			fmt.Fprintf(w, ", FROZEN: %s", g.FreezeReason)
		}
		fmt.Fprintln(w)
		if len(g.Replace) > 0 {
			fmt.Fprintf(w, "  would replace: %s\n", strings.Join(g.Replace, ", "))
		}
		if g.TopUp > 0 {
			fmt.Fprintf(w, "  would launch %d to reach min\n", g.TopUp)
		}
	}
	if len(p.Decisions) > 0 {
		fmt.Fprintln(w, "\nwhy:")
		writeDecisions(w, p.Decisions)
	}
}
