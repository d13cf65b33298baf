package membership

import "time"

// Status is a member's state in the local view: this agent's, which other
// agents' views may differ from for a while.
type Status string

// Member states. Dead and left members stay in the view for the reap time.
const (
	// StatusAlive is a member memberlist holds alive and this agent does
	// not suspect.
	StatusAlive Status = "alive"
	// StatusDraining is an alive member that announced it is going away
	// (Cluster.SetDraining): it still answers, but work should move off it.
	StatusDraining Status = "draining"
	// StatusSuspect means that this agent's own probe of the member failed
	// (the direct ping and the indirect ones) and that no probe of it has
	// been answered since, within the longest time memberlist may take to
	// decide. memberlist has no callback for suspicion: the view learns it
	// from the log line memberlist writes when its own probe fails (see
	// logtap.go), so suspect is local to each agent. It does not mean that
	// the cluster suspects the member (the suspicions other members gossip
	// are not seen: such a member is alive here until this agent probes it
	// or memberlist declares it dead), nor that the member will be
	// declared dead: it goes back to alive when a probe is answered or the
	// suspicion lapses, and to dead only when memberlist declares it. Nor
	// is it a verdict on the member rather than on the path to it: an
	// agent whose own network or CPU fails suspects healthy members.
	StatusSuspect Status = "suspect"
	// StatusDead is a member memberlist declared dead (its suspicion timed
	// out somewhere in the cluster, the verdict reached this agent).
	StatusDead Status = "dead"
	// StatusLeft is a member that left gracefully.
	StatusLeft Status = "left"
)

// up reports whether a member in this status is in the cluster: alive,
// draining, or suspect (a local probe result, not a verdict).
func (s Status) up() bool {
	return s == StatusAlive || s == StatusDraining || s == StatusSuspect
}

// upStatus is the status of a member memberlist holds alive.
func upStatus(draining bool) Status {
	if draining {
		return StatusDraining
	}
	return StatusAlive
}

// Member is one entry of the member view.
type Member struct {
	// Name is the member name (the EC2 instance id).
	Name string `json:"name"`
	// Addr is the member's gossip IP address.
	Addr string `json:"addr"`
	// Port is the member's gossip port.
	Port int `json:"port"`
	// Status is alive, suspect, dead or left.
	Status Status `json:"status"`
	// Since is when the member entered Status in this node's view.
	Since time.Time `json:"since"`
	// Tags are the member's decoded metadata tags (role, az, user tags).
	Tags map[string]string `json:"tags,omitempty"`
}

// EventType says what changed about a member.
type EventType string

// Event types delivered to subscribers.
const (
	EventJoin   EventType = "join"   // a new member is alive
	EventUpdate EventType = "update" // tags or address changed
	EventStatus EventType = "status" // status changed (alive/suspect/dead/left)
	EventReap   EventType = "reap"   // a dead or left member was removed
)

// Event is one change to the member view.
type Event struct {
	Type   EventType `json:"type"`
	Member Member    `json:"member"`
	// Prev is the previous status for EventStatus.
	Prev Status `json:"prev,omitempty"`
	// Index is the view's index after this change (see Cluster.Index).
	Index uint64 `json:"index"`
}
