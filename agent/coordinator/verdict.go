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
	// ASGroup is the instance's aws:autoscaling:groupName tag: the Auto
	// Scaling group that owns it, "" for none.
	ASGroup string
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
	// Bootstrap is set when the cluster has never formed (see
	// bootstrapQuorum): Total is what exists, not the group minimums.
	Bootstrap bool `json:"bootstrap,omitempty"`
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
		if answers(m.Status) {
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

// bootstrapQuorum is the quorum of a cluster that has never formed (the
// ledger has never recorded it at quorum): the floor is what exists, the
// union of the members not left and the instances EC2 lists pending or
// running with the cluster tag, instead of the sum of the group minimums,
// which a new cluster has not reached. A leader cut off from instances that
// exist still lacks quorum; a lone seed has it (1 of 1).
func bootstrapQuorum(members []membership.Member, cluster map[string]instanceInfo) Quorum {
	q := Quorum{Bootstrap: true}
	exists := map[string]bool{}
	for _, m := range members {
		if answers(m.Status) {
			q.Alive++
		}
		if m.Status != membership.StatusLeft {
			exists[m.Name] = true
		}
	}
	for id := range cluster {
		exists[id] = true
	}
	q.Total = len(exists)
	q.OK = q.Total > 0 && 2*q.Alive > q.Total
	return q
}

// answers reports whether a member counts as alive for the quorum: alive,
// or draining (it is going away, but it still answers).
func answers(s membership.Status) bool {
	return s == membership.StatusAlive || s == membership.StatusDraining
}

// Health counts a group's members by gossip status.
type Health struct {
	Alive    int `json:"alive"`
	Draining int `json:"draining"`
	Suspect  int `json:"suspect"`
	Dead     int `json:"dead"`
	Left     int `json:"left"`
}

// Unhealthy is suspect plus dead.
func (h Health) Unhealthy() int { return h.Suspect + h.Dead }

// size is the group size for the freeze fraction: members not left, and at
// least the group minimum.
func (h Health) size(minimum int) int { return max(h.Alive+h.Draining+h.Suspect+h.Dead, minimum) }

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
		case membership.StatusDraining:
			h.Draining++
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

// rebalancing reports whether m is an alive member whose agent announced
// an EC2 rebalance recommendation (MemberTagRebalance).
func rebalancing(m membership.Member) bool {
	return m.Status == membership.StatusAlive && m.Tags[MemberTagRebalance] == "1"
}

// judge is the verdict on member m. A dead member is replaced only when
// gossip has held it dead for DeadGrace, the leader has quorum, the instance
// is not new and no Auto Scaling group owns it, and EC2 confirms the machine
// is terminated, impaired or missing, stopped for StoppedGrace, or running
// but silent for SilentGrace (when SilentGrace > 0). A draining member (a
// spot interruption or an Auto Scaling termination was announced) is
// replaced at once, and so is an alive member with a rebalance
// recommendation when OnRebalance is "replace" (see judgeNotice). Left
// members are never replaced one for one: a graceful leave is counted by
// the top-up to min instead.
func judge(cfg *Config, now time.Time, m membership.Member, q Quorum, w witness) verdict {
	switch {
	case m.Status == membership.StatusLeft:
		return judgeLeft(cfg, now, m, w)
	case m.Status == membership.StatusDraining:
		return judgeNotice(q, m, w, CodeDraining, "draining (it announced that it is going away: a spot interruption or an Auto Scaling termination)")
	case rebalancing(m) && cfg.OnRebalance == RebalanceReplace:
		return judgeNotice(q, m, w, CodeRebalance, "EC2 recommends rebalancing this spot instance and on_rebalance is \"replace\"")
	case rebalancing(m):
		return verdict{ActionReport, CodeRebalance, "EC2 recommends rebalancing this spot instance; on_rebalance is \"warn\": it is replaced when it is interrupted (draining) or dies"}
	case m.Status == membership.StatusDead:
	default:
		return verdict{}
	}
	deadFor := now.Sub(m.Since)
	switch {
	case deadFor < cfg.DeadGrace:
		return verdict{ActionSkip, CodeDeadGrace, fmt.Sprintf("dead for %s, less than dead_grace %s", deadFor, cfg.DeadGrace)}
	case !q.OK:
		return noQuorum(q)
	case !instanceIDPattern.MatchString(m.Name):
		return verdict{ActionSkip, CodeNotInstance, fmt.Sprintf("member name %q is not an EC2 instance id", m.Name)}
	case w.Deferred:
		return deferred()
	case !w.Asked:
		return verdict{ActionSkip, CodeEC2Unavailable, "EC2 gave no answer for this instance"}
	case w.ASGroup != "":
		return asgOwned(w)
	case !w.LaunchTime.IsZero() && now.Sub(w.LaunchTime) < cfg.NewInstanceGrace:
		return verdict{ActionSkip, CodeNewInstance, fmt.Sprintf("launched %s ago, within new_instance_grace %s", now.Sub(w.LaunchTime), cfg.NewInstanceGrace)}
	case !w.Found:
		return verdict{ActionReplace, CodeMissing, "EC2 does not know the instance"}
	}
	switch w.State {
	case ec2types.InstanceStateNameTerminated, ec2types.InstanceStateNameShuttingDown:
		return verdict{ActionReplace, CodeTerminated, "EC2 says " + string(w.State)}
	case ec2types.InstanceStateNameStopped, ec2types.InstanceStateNameStopping:
		switch {
		case cfg.StoppedGrace == 0:
			return verdict{ActionSkip, CodeStoppedGrace, fmt.Sprintf("EC2 says %s (a stopped instance keeps its id, address and disks; start-instances brings it back): never replaced because stopped_grace is 0", w.State)}
		case deadFor < cfg.StoppedGrace:
			return verdict{ActionSkip, CodeStoppedGrace, fmt.Sprintf("EC2 says %s (a stopped instance keeps its id, address and disks; start-instances brings it back): dead for %s, replaced only after stopped_grace %s", w.State, deadFor, cfg.StoppedGrace)}
		}
		return verdict{ActionReplace, CodeStopped, fmt.Sprintf("EC2 says %s, and it has been dead for %s >= stopped_grace %s", w.State, deadFor, cfg.StoppedGrace)}
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

// judgeLeft is the verdict on a member that left gracefully. It is never
// replaced one for one, and the group is topped up without it, unless its
// instance is coming back: EC2 says stopping or stopped (a stop shuts the
// agent down gracefully; start-instances brings the same instance back)
// within StoppedGrace, pending (started again), or running (a start, a
// reboot or an agent restart) within NewInstanceGrace of the leave or of
// its (re)start. Such a member keeps its place in the group (held).
// The witness is the last scan of the cluster's tagged instances.
func judgeLeft(cfg *Config, now time.Time, m membership.Member, w witness) verdict {
	leftFor := now.Sub(m.Since)
	if w.Found {
		switch w.State {
		case ec2types.InstanceStateNameStopped, ec2types.InstanceStateNameStopping:
			if cfg.StoppedGrace == 0 {
				return verdict{ActionSkip, CodeStoppedGrace, fmt.Sprintf("left when its instance was stopped (EC2 says %s): it keeps its id, address and disks, and its place in the group; stopped_grace is 0: never topped up around", w.State)}
			}
			if leftFor < cfg.StoppedGrace {
				return verdict{ActionSkip, CodeStoppedGrace, fmt.Sprintf("left when its instance was stopped (EC2 says %s) %s ago: it keeps its id, address and disks, and its place in the group for stopped_grace %s", w.State, leftFor.Round(time.Second), cfg.StoppedGrace)}
			}
		case ec2types.InstanceStateNamePending:
			return verdict{ActionSkip, CodeRestarting, "left, and EC2 says pending (started again, booting): it keeps its place in the group"}
		case ec2types.InstanceStateNameRunning:
			// EC2 sets LaunchTime anew at each start: a stopped instance
			// started again is as young as a new one.
			booted := now.Sub(w.LaunchTime)
			if leftFor < cfg.NewInstanceGrace || !w.LaunchTime.IsZero() && booted < cfg.NewInstanceGrace {
				return verdict{ActionSkip, CodeRestarting, fmt.Sprintf("left %s ago, but EC2 says running (started %s ago: a start, a reboot or an agent restart): it keeps its place in the group for new_instance_grace %s", leftFor.Round(time.Second), booted.Round(time.Second), cfg.NewInstanceGrace)}
			}
		}
	}
	return verdict{ActionSkip, CodeLeft, "left gracefully: not replaced one for one; the group is topped up if it falls below min"}
}

// held reports whether a left member keeps its place in its group (see
// judgeLeft).
func (v verdict) held() bool { return v.Code == CodeStoppedGrace || v.Code == CodeRestarting }

// judgeNotice is the verdict on a member that announced it is going away
// (why): replace it now, one for one, while it still works, so that the
// capacity is back before it is lost. The leader still needs quorum, and
// EC2's word that no Auto Scaling group owns the instance. There is no
// dead_grace (the member said so itself) and no new_instance_grace (an
// instance that joined and announced a notice is not booting); the rate
// limit bounds a spot market that interrupts every replacement. The old
// instance is not terminated: EC2, its group or its agent ends it.
func judgeNotice(q Quorum, m membership.Member, w witness, code, why string) verdict {
	switch {
	case !q.OK:
		return noQuorum(q)
	case !instanceIDPattern.MatchString(m.Name):
		return verdict{ActionSkip, CodeNotInstance, fmt.Sprintf("%s, but member name %q is not an EC2 instance id", why, m.Name)}
	case w.Deferred:
		return deferred()
	case !w.Asked:
		return verdict{ActionSkip, CodeEC2Unavailable, why + ", but EC2 gave no answer for the instance (is it owned by an Auto Scaling group?)"}
	case w.ASGroup != "":
		return asgOwned(w)
	case !w.Found:
		return verdict{ActionReplace, code, why + "; EC2 no longer knows the instance: replaced now"}
	}
	return verdict{ActionReplace, code, fmt.Sprintf("%s; EC2 says %s: replaced now, one for one, before it is lost; the instance itself is left to EC2", why, w.State)}
}

func noQuorum(q Quorum) verdict {
	of := "members"
	if q.Bootstrap {
		of = "members and instances that exist (a new cluster, never formed)"
	}
	return verdict{ActionSkip, CodeNoQuorum, fmt.Sprintf("leader sees only %d of %d %s alive (needs more than half): it may be the one cut off", q.Alive, q.Total, of)}
}

func deferred() verdict {
	return verdict{ActionSkip, CodeEC2Unavailable, fmt.Sprintf("not in this round's answer (the scan of the instances tagged %s, or the by-id query): EC2 is asked about it in the next round, at most one DescribeInstances per interval", TagCluster)}
}

func asgOwned(w witness) verdict {
	return verdict{ActionSkip, CodeASGOwned, fmt.Sprintf("the instance belongs to Auto Scaling group %q (tag %s): the group replaces it, the coordinator never terminates or replaces it", w.ASGroup, TagASGroup)}
}
