package coordinator

import (
	"fmt"
	"regexp"
	"time"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/farmhand/farmhand/membership"
)

// witness is what EC2 said about one instance.
type witness struct {
	// Asked is set when EC2 answered for this instance this tick.
	Asked bool
	// Deferred is set when this round's one DescribeInstances did not cover
	// the instance (not tagged with the cluster, gone from EC2, or a new
	// candidate during a by-id round): EC2 is asked in the next round.
	Deferred bool
	// Found is set when EC2 returned the instance.
	Found bool
	// State is the instance state (pending, running, stopping, stopped,
	// shutting-down, terminated).
	State ec2types.InstanceStateName
	// Status is the worse of the instance and system status checks (ok,
	// impaired, initializing, insufficient-data, ...), "" when unknown.
	Status string
	// LaunchTime is when the instance was launched.
	LaunchTime time.Time
}

// stateString is the state for evidence: "missing" when not found.
func (w witness) stateString() string {
	switch {
	case !w.Asked:
		return ""
	case !w.Found:
		return "missing"
	}
	return string(w.State)
}

// Quorum is the leader's own view of the cluster: it acts only when it sees
// more than half of the cluster alive.
type Quorum struct {
	// Alive is the number of members this node sees alive (suspect does not count).
	Alive int `json:"alive"`
	// Total is max(members not left, sum of group minimums), so a leader
	// whose view lost the others (reaped) still lacks quorum.
	Total int `json:"total"`
	// OK is Alive > Total/2.
	OK bool `json:"ok"`
}

// clusterQuorum counts the leader's quorum over the whole cluster view.
//
// The quorum is cluster-wide, not per group: a per-group majority would make
// a dead member of a one- or two-node group unreplaceable, and the question
// it answers is "is the leader cut off?", which is about the leader, not the
// group. Mass failure inside a group is the freeze gate's job.
func clusterQuorum(members []membership.Member, groups []Group) Quorum {
	var q Quorum
	notLeft, minSum := 0, 0
	for _, m := range members {
		if m.Status == membership.StatusAlive {
			q.Alive++
		}
		if m.Status != membership.StatusLeft {
			notLeft++
		}
	}
	for _, g := range groups {
		minSum += g.Min
	}
	q.Total = max(notLeft, minSum)
	q.OK = q.Total > 0 && 2*q.Alive > q.Total
	return q
}

// Health counts a group's members by gossip status.
type Health struct {
	Alive   int `json:"alive"`
	Suspect int `json:"suspect"`
	Dead    int `json:"dead"`
	Left    int `json:"left"`
}

// Unhealthy is suspect plus dead.
func (h Health) Unhealthy() int { return h.Suspect + h.Dead }

// size is the group size for the freeze fraction: members not left, and at
// least the group minimum.
func (h Health) size(minimum int) int { return max(h.Alive+h.Suspect+h.Dead, minimum) }

// groupMembers returns the members whose role tag is role.
func groupMembers(members []membership.Member, role string) []membership.Member {
	var out []membership.Member
	for _, m := range members {
		if m.Tags["role"] == role {
			out = append(out, m)
		}
	}
	return out
}

// groupHealth counts members by status.
func groupHealth(members []membership.Member) Health {
	var h Health
	for _, m := range members {
		switch m.Status {
		case membership.StatusAlive:
			h.Alive++
		case membership.StatusSuspect:
			h.Suspect++
		case membership.StatusDead:
			h.Dead++
		case membership.StatusLeft:
			h.Left++
		}
	}
	return h
}

// freezeVerdict says whether a group is frozen and why: more than threshold
// of it is unhealthy, and at least two members are (one failure is never a
// mass failure, so a one-node group can still be repaired).
func freezeVerdict(h Health, minimum int, threshold float64) (bool, string) {
	size := h.size(minimum)
	bad := h.Unhealthy()
	if bad < 2 || size == 0 || float64(bad)/float64(size) <= threshold {
		return false, ""
	}
	return true, fmt.Sprintf("%d of %d members unhealthy (%d suspect, %d dead) exceeds freeze threshold %.2f: probable partition or zone failure, replacement stopped until it recovers",
		bad, size, h.Suspect, h.Dead, threshold)
}

// verdict is the judgment on one member.
type verdict struct {
	// Action is ActionReplace, ActionSkip or ActionReport; "" for members
	// that are alive or suspect.
	Action Action
	// Code is the machine-readable reason.
	Code string
	// Reason is the human-readable reason.
	Reason string
}

var instanceIDPattern = regexp.MustCompile(`^i-[0-9a-f]{8,17}$`)

// judge is the death verdict on member m. It replaces only when gossip has
// held m dead for DeadGrace, the leader has quorum, the instance is not new,
// and EC2 confirms the machine is stopped, terminated, impaired or missing
// (or running but silent for SilentGrace, when SilentGrace > 0). Left members
// are never replaced one for one: a graceful leave is counted by the top-up
// to min instead.
func judge(cfg *Config, now time.Time, m membership.Member, q Quorum, w witness) verdict {
	switch m.Status {
	case membership.StatusLeft:
		return verdict{ActionSkip, CodeLeft, "left gracefully: not replaced one for one; the group is topped up if it falls below min"}
	case membership.StatusDead:
	default:
		return verdict{}
	}
	deadFor := now.Sub(m.Since)
	switch {
	case deadFor < cfg.DeadGrace:
		return verdict{ActionSkip, CodeDeadGrace, fmt.Sprintf("dead for %s, less than dead_grace %s", deadFor, cfg.DeadGrace)}
	case !q.OK:
		return verdict{ActionSkip, CodeNoQuorum, fmt.Sprintf("leader sees only %d of %d members alive (needs more than half): it may be the one cut off", q.Alive, q.Total)}
	case !instanceIDPattern.MatchString(m.Name):
		return verdict{ActionSkip, CodeNotInstance, fmt.Sprintf("member name %q is not an EC2 instance id", m.Name)}
	case w.Deferred:
		return verdict{ActionSkip, CodeEC2Unavailable, fmt.Sprintf("not in this round's answer (the scan of the instances tagged %s, or the by-id query): EC2 is asked about it in the next round, at most one DescribeInstances per interval", TagCluster)}
	case !w.Asked:
		return verdict{ActionSkip, CodeEC2Unavailable, "EC2 gave no answer for this instance"}
	case !w.LaunchTime.IsZero() && now.Sub(w.LaunchTime) < cfg.NewInstanceGrace:
		return verdict{ActionSkip, CodeNewInstance, fmt.Sprintf("launched %s ago, within new_instance_grace %s", now.Sub(w.LaunchTime), cfg.NewInstanceGrace)}
	case !w.Found:
		return verdict{ActionReplace, CodeMissing, "EC2 does not know the instance"}
	}
	switch w.State {
	case ec2types.InstanceStateNameTerminated, ec2types.InstanceStateNameShuttingDown:
		return verdict{ActionReplace, CodeTerminated, "EC2 says " + string(w.State)}
	case ec2types.InstanceStateNameStopped, ec2types.InstanceStateNameStopping:
		return verdict{ActionReplace, CodeStopped, "EC2 says " + string(w.State)}
	}
	if w.Status == string(ec2types.SummaryStatusImpaired) {
		return verdict{ActionReplace, CodeImpaired, "EC2 status checks say impaired"}
	}
	switch {
	case cfg.SilentGrace == 0:
		return verdict{ActionReport, CodeSilent, fmt.Sprintf("agent down, machine healthy (EC2 %s, status %q): never replaced because silent_grace is 0", w.State, w.Status)}
	case deadFor < cfg.SilentGrace:
		return verdict{ActionReport, CodeSilent, fmt.Sprintf("agent down, machine healthy (EC2 %s, status %q): replaced if still silent after silent_grace %s", w.State, w.Status, cfg.SilentGrace)}
	}
	return verdict{ActionReplace, CodeSilentExpired, fmt.Sprintf("agent silent for %s >= silent_grace %s although EC2 says %s", deadFor, cfg.SilentGrace, w.State)}
}
