package membership

import "time"

// Status is a member's state in the local view.
type Status string

// Member states. Dead and left members stay in the view for the reap time.
const (
	StatusAlive Status = "alive"
	// StatusDraining is an alive member that announced it is going away
	// (Cluster.SetDraining): it still answers, but work should move off it.
	StatusDraining Status = "draining"
	StatusSuspect  Status = "suspect"
	StatusDead     Status = "dead"
	StatusLeft     Status = "left"
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
}
