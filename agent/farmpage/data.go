package farmpage

import (
	"cmp"
	"slices"
	"time"

	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/membership"
)

// Data is everything the page shows; the agent fills it at each request.
type Data struct {
	// Now is when the data was read; ages are measured from it.
	Now time.Time
	// Refresh is how often the page reloads itself.
	Refresh time.Duration
	// Cluster is the cluster name.
	Cluster string
	// Self is the local agent's own health.
	Self Self
	// Members is this agent's view of the cluster.
	Members []membership.Member
	// Coordinator is what is known of the coordinator; nil: nothing.
	Coordinator *Coordinator
}

// Self is the local agent's health.
type Self struct {
	Name, Addr, State, Version string
	Role, AZ                   string
	StartedAt, LastChange      time.Time
	// S3 counts the agent's S3 requests by kind; Skipped the registry
	// objects it skipped as garbage.
	S3, Skipped map[string]int64
	Joins       int64
	Reconnects  int64
	// Problems are one-line health problems (render failures...).
	Problems []string
}

// Coordinator is the coordinator as the page shows it.
type Coordinator struct {
	// Source says where this comes from: "this agent (leader)", or the
	// leader's published view and ledger in S3.
	Source string
	// Leader is the lease holder; Epoch its epoch; Here is set when it is
	// this agent.
	Leader string
	Epoch  uint64
	Here   bool
	DryRun bool
	// Groups are the groups, frozen or not, and why.
	Groups []coordinator.GroupStatus
	// Pending counts unfinished batches.
	Pending int
	// Decisions are the ledger's decisions, oldest first.
	Decisions []coordinator.Decision
	// Error says why part of this could not be read.
	Error string
}

// roleGroup is the members of one role, by AZ.
type roleGroup struct {
	Role string
	AZs  []azGroup
}

// azGroup is the members of one role in one AZ.
type azGroup struct {
	AZ      string
	Members []memberRow
}

// memberRow is one member as the page shows it.
type memberRow struct {
	Name, Addr, Status, Age string
}

// groups sorts the members into roles and AZs, each sorted by name.
func (d *Data) groups() []roleGroup {
	ms := slices.Clone(d.Members)
	slices.SortFunc(ms, func(a, b membership.Member) int {
		return cmp.Or(cmp.Compare(a.Tags["role"], b.Tags["role"]), cmp.Compare(a.Tags["az"], b.Tags["az"]), cmp.Compare(a.Name, b.Name))
	})
	var out []roleGroup
	for _, m := range ms {
		role, az := orDash(m.Tags["role"]), orDash(m.Tags["az"])
		if len(out) == 0 || out[len(out)-1].Role != role {
			out = append(out, roleGroup{Role: role})
		}
		rg := &out[len(out)-1]
		if len(rg.AZs) == 0 || rg.AZs[len(rg.AZs)-1].AZ != az {
			rg.AZs = append(rg.AZs, azGroup{AZ: az})
		}
		ag := &rg.AZs[len(rg.AZs)-1]
		ag.Members = append(ag.Members, memberRow{Name: m.Name, Addr: m.Addr, Status: string(m.Status), Age: age(d.Now, m.Since)})
	}
	return out
}

// counts is the number of members by status, in a fixed order.
func (d *Data) counts() []statusCount {
	n := map[membership.Status]int{}
	for _, m := range d.Members {
		n[m.Status]++
	}
	var out []statusCount
	for _, s := range []membership.Status{membership.StatusAlive, membership.StatusDraining, membership.StatusSuspect, membership.StatusDead, membership.StatusLeft} {
		out = append(out, statusCount{Status: string(s), N: n[s]})
	}
	return out
}

type statusCount struct {
	Status string
	N      int
}

// age renders how long ago t was, "-" when unset.
func age(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	if d < 0 {
		d = 0
	}
	if d < time.Hour {
		return d.Round(time.Second).String()
	}
	return d.Round(time.Minute).String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
