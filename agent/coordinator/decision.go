package coordinator

import (
	"time"

	"github.com/farmhand/farmhand/membership"
)

// Action is what a decision decided.
type Action string

// Decision actions.
const (
	ActionReplace   Action = "replace"   // a dead member is to be replaced (or would be, in dry run)
	ActionSkip      Action = "skip"      // a dead or left member is not replaced now; Code says why
	ActionReport    Action = "report"    // something an operator should know; nothing is done
	ActionTopUp     Action = "top_up"    // instances are launched to bring a group up to min
	ActionLaunch    Action = "launch"    // RunInstances returned instances for a batch
	ActionTerminate Action = "terminate" // dead instances were terminated before their replacement
	ActionFreeze    Action = "freeze"    // a group became frozen
	ActionThaw      Action = "thaw"      // a group is no longer frozen
	ActionPrune     Action = "prune"     // a replaced node's registry record was deleted
	ActionLease     Action = "lease"     // leadership was acquired, lost or released
	ActionError     Action = "error"     // an outside call failed; retried on a later tick
	ActionForm      Action = "form"      // the cluster reached quorum for the first time (ledger.Formed)
)

// Decision codes: the machine-readable reason of a decision.
const (
	CodeDeadGrace      = "dead_grace"       // dead for less than DeadGrace
	CodeBatching       = "batching"         // waiting BatchWindow for a burst of deaths
	CodeNoQuorum       = "no_quorum"        // the leader does not see a majority alive
	CodeNewInstance    = "new_instance"     // launched less than NewInstanceGrace ago
	CodeNotInstance    = "not_instance"     // the member name is not an EC2 instance id
	CodeEC2Unavailable = "ec2_unavailable"  // EC2 gave no evidence for the instance
	CodeSilent         = "silent"           // agent down, machine healthy
	CodeSilentExpired  = "silent_expired"   // silent for SilentGrace: replaced anyway
	CodeStopped        = "stopped"          // EC2: stopping or stopped for StoppedGrace
	CodeStoppedGrace   = "stopped_grace"    // EC2: stopping or stopped, within StoppedGrace (or it is 0: never)
	CodeRestarting     = "restarting"       // left, but EC2 says running: a reboot or an agent restart, counted for NewInstanceGrace
	CodeDraining       = "draining"         // the member announced it is going away: replaced at the notice
	CodeRebalance      = "rebalance"        // EC2 recommended rebalancing the spot instance
	CodeASGOwned       = "asg_owned"        // the instance belongs to an Auto Scaling group: never touched
	CodeBootstrap      = "bootstrap"        // a new cluster grows from its seed without the min floor
	CodeFormed         = "formed"           // the cluster reached quorum for the first time
	CodeTerminated     = "terminated"       // EC2: shutting-down or terminated
	CodeImpaired       = "impaired"         // EC2: instance or system status impaired
	CodeMissing        = "missing"          // EC2 does not know the instance
	CodeLeft           = "left"             // graceful leave: only top-up to min
	CodeFrozen         = "frozen"           // the group is frozen
	CodeRateLimited    = "rate_limited"     // MaxReplacements reached in the window
	CodeMaxReached     = "max_reached"      // the group is at Max
	CodeBelowMin       = "below_min"        // top-up reason
	CodeNotJoined      = "not_joined"       // launched, never joined gossip
	CodeAcquired       = "acquired"         // lease acquired
	CodeLost           = "lost"             // lease lost (412 or expired)
	CodeReleased       = "released"         // lease released at shutdown
	CodeLeaseError     = "lease_error"      // reading or writing the lease failed
	CodeLedgerError    = "ledger_error"     // reading or writing the ledger failed (412: another leader wrote it)
	CodeNotLeader      = "not_leader"       // the lease ran out while acting
	CodeLaunchFailed   = "launch_failed"    // RunInstances failed
	CodeTerminateFail  = "terminate_failed" // TerminateInstances failed
	CodePruneFailed    = "prune_failed"     // Prune failed
	CodeCapacity       = "capacity"         // InsufficientInstanceCapacity: next subnet
	CodeOK             = "ok"               // an action succeeded
)

// Decision is one ledger entry: what was decided, why, and the evidence.
type Decision struct {
	// Seq numbers decisions within the ledger; it survives leader changes.
	Seq uint64 `json:"seq"`
	// Time is when the decision was made.
	Time time.Time `json:"time"`
	// Epoch is the lease epoch of the leader that decided (0: not leader).
	Epoch uint64 `json:"epoch"`
	// Holder is the node that decided.
	Holder string `json:"holder,omitempty"`
	// Action is what was decided.
	Action Action `json:"action"`
	// Code is the machine-readable reason.
	Code string `json:"code"`
	// Reason is the human-readable reason.
	Reason string `json:"reason"`
	// Group is the group concerned, if any.
	Group string `json:"group,omitempty"`
	// Instance is the instance concerned, if any.
	Instance string `json:"instance,omitempty"`
	// DryRun is set when the action was only planned.
	DryRun bool `json:"dry_run,omitempty"`
	// Batch is the launch batch id, if any.
	Batch string `json:"batch,omitempty"`
	// Instances lists instances launched, terminated or replaced by a batch.
	Instances []string `json:"instances,omitempty"`
	// Evidence is what the decision was based on.
	Evidence *Evidence `json:"evidence,omitempty"`
}

// Evidence is what the three witnesses said when a decision was made.
type Evidence struct {
	// GossipStatus is the member's gossip status.
	GossipStatus membership.Status `json:"gossip_status,omitempty"`
	// GossipSince is when the member entered GossipStatus.
	GossipSince time.Time `json:"gossip_since,omitzero"`
	// EC2State is the instance state, "missing" when EC2 does not know it,
	// or "" when EC2 was not asked.
	EC2State string `json:"ec2_state,omitempty"`
	// EC2Status is the worst of the instance and system status checks.
	EC2Status string `json:"ec2_status,omitempty"`
	// LaunchTime is the instance's launch time according to EC2.
	LaunchTime time.Time `json:"launch_time,omitzero"`
	// ASGroup is the instance's Auto Scaling group (its
	// aws:autoscaling:groupName tag), if any.
	ASGroup string `json:"asg,omitempty"`
	// Bootstrap is set when the quorum was counted as for a new cluster
	// (never formed): the floor is what EC2 lists, not the group minimums.
	Bootstrap bool `json:"bootstrap,omitempty"`
	// QuorumAlive and QuorumTotal are the leader's quorum counts.
	QuorumAlive int `json:"quorum_alive"`
	QuorumTotal int `json:"quorum_total"`
	// GroupUnhealthy and GroupSize are the group's freeze counts.
	GroupUnhealthy int `json:"group_unhealthy"`
	GroupSize      int `json:"group_size"`
}
