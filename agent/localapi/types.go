package localapi

import (
	"time"

	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/membership"
)

// Socket defaults shared by the agent (which listens) and the CLI (which dials).
const (
	// DefaultSocketPath is where the agent listens unless configured otherwise.
	DefaultSocketPath = "/run/farmhand/farmhand.sock"
	// DefaultSocketMode lets root and the socket's group use the API.
	DefaultSocketMode = 0o660
	// SocketEnv names the environment variable the CLI reads when -socket is not given.
	SocketEnv = "FARMHAND_SOCKET"
)

// Well-known member tags the API and the CLI understand.
const (
	// TagRole is the tag holding a member's role (e.g. "worker").
	TagRole = "role"
	// TagAZ is the tag holding a member's availability zone.
	TagAZ = "az"
)

// Agent states reported in Status.State.
const (
	StateBootstrapping = "bootstrapping"
	StateAlive         = "alive"
	StateLeaving       = "leaving"
	StateLeft          = "left"
)

// Status is this node as its agent sees it; GET /v1/status returns it.
type Status struct {
	// Name is the member name (the instance id).
	Name string `json:"name"`
	// Cluster is the cluster name (also the memberlist label).
	Cluster string `json:"cluster"`
	// Addr is the gossip address this node advertises.
	Addr string `json:"addr"`
	// Port is the gossip port this node advertises.
	Port int `json:"port"`
	// State is one of StateBootstrapping, StateAlive, StateLeaving, StateLeft.
	State string `json:"state"`
	// Version is the agent version.
	Version string `json:"version"`
	// Identity is what IMDSv2 (or config) says this instance is.
	Identity bootstrap.Identity `json:"identity"`
	// Tags are this node's metadata tags (role, az, user tags).
	Tags map[string]string `json:"tags,omitempty"`
	// StartedAt is when the agent started.
	StartedAt time.Time `json:"started_at"`
	// LastChange is when the member view last changed (join, leave, status or
	// tag change); "farmhand wait -stable" measures stability from it.
	LastChange time.Time `json:"last_change"`
	// Counts is the number of members in the view by member status.
	Counts map[string]int `json:"counts"`
	// S3 counts the S3 requests this agent made, by kind: put, list, get, delete.
	S3 map[string]int64 `json:"s3"`
	// Joins counts successful joins (including rejoins).
	Joins int64 `json:"joins"`
	// Reconnects counts successful reconnections to members once held dead.
	Reconnects int64 `json:"reconnects"`
	// Drain is the drain watcher's state; nil when the watcher is off.
	Drain *DrainStatus `json:"drain,omitempty"`
}

// DrainStatus is what the drain watcher knows of this instance's end.
type DrainStatus struct {
	// Draining is true once this member announced that it is going away.
	Draining bool `json:"draining"`
	// Reason is why: spot-interruption, asg-termination or rebalance.
	Reason string `json:"reason,omitempty"`
	// Action is the spot interruption's action (terminate, stop,
	// hibernate); "terminate" for Auto Scaling.
	Action string `json:"action,omitempty"`
	// Deadline is when EC2 acts; zero when the notice gives none.
	Deadline time.Time `json:"deadline,omitzero"`
	// Since is when the drain started.
	Since time.Time `json:"since,omitzero"`
	// LeaveAt is when the agent leaves and deletes its record; zero when
	// it does not leave (a rebalance drain).
	LeaveAt time.Time `json:"leave_at,omitzero"`
	// OnDrain is the outcome of the on_drain command: running, ok,
	// failed: ..., timed out, skipped: ...; empty without one.
	OnDrain string `json:"on_drain,omitempty"`
	// RebalanceAt is the rebalance recommendation's notice time; zero
	// when there is none. Alone it does not drain (drain.rebalance).
	RebalanceAt time.Time `json:"rebalance_at,omitzero"`
	// IMDSError is the latest failure to read the notices, cleared by the
	// next good read.
	IMDSError string `json:"imds_error,omitempty"`
}

// MembersResponse is the body of GET /v1/members, sorted by name.
type MembersResponse struct {
	Members []membership.Member `json:"members"`
}

// LeaveResponse is the body of POST /v1/leave.
type LeaveResponse struct {
	// Name is the member that left.
	Name string `json:"name"`
	// Cluster is the cluster it left.
	Cluster string `json:"cluster"`
	// State is StateLeft when the leave finished before the answer,
	// StateLeaving when it is still under way.
	State string `json:"state"`
	// Message says what happened, for a person.
	Message string `json:"message"`
}

// ReloadResponse is the body of POST /v1/reload when the reload was
// applied. A refused one is an error (409) naming each field that needs a
// restart; nothing of it was applied.
type ReloadResponse struct {
	// Message says what happened, for a person.
	Message string `json:"message"`
	// Applied lists the changed fields, all applied live; empty when
	// nothing changed.
	Applied []string `json:"applied"`
}

// ErrorResponse is the body of every non-2xx answer.
type ErrorResponse struct {
	Error string `json:"error"`
}
