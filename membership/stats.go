package membership

import "sync/atomic"

// Stats are counters about this node's membership, for metrics and the
// local API.
type Stats struct {
	// Joins counts Join calls that reached at least one member.
	Joins uint64 `json:"joins"`
	// JoinFailures counts Join calls that reached no member.
	JoinFailures uint64 `json:"join_failures"`
	// ReconnectAttempts counts tries to reach a dead member again.
	ReconnectAttempts uint64 `json:"reconnect_attempts"`
	// Reconnects counts reconnect attempts that succeeded.
	Reconnects uint64 `json:"reconnects"`
	// RejoinAttempts counts Discover-and-join attempts made while isolated.
	RejoinAttempts uint64 `json:"rejoin_attempts"`
	// Rejoins counts rejoin attempts that reached at least one member.
	Rejoins uint64 `json:"rejoins"`
	// JoinSyncs counts the push/pulls made after a join (see settle.go).
	JoinSyncs uint64 `json:"join_syncs"`
	// EventsDropped counts events not delivered to a full subscriber.
	EventsDropped uint64 `json:"events_dropped"`
	// Alive, Draining, Suspect, Dead and Left count the view's members by
	// status.
	Alive    int `json:"alive"`
	Draining int `json:"draining"`
	Suspect  int `json:"suspect"`
	Dead     int `json:"dead"`
	Left     int `json:"left"`
}

type counters struct {
	joins, joinFailures           atomic.Uint64
	reconnectAttempts, reconnects atomic.Uint64
	rejoinAttempts, rejoins       atomic.Uint64
	joinSyncs                     atomic.Uint64
}

// Stats returns the current counters.
func (c *Cluster) Stats() Stats {
	n := c.view.count()
	return Stats{
		Joins:             c.stats.joins.Load(),
		JoinFailures:      c.stats.joinFailures.Load(),
		ReconnectAttempts: c.stats.reconnectAttempts.Load(),
		Reconnects:        c.stats.reconnects.Load(),
		RejoinAttempts:    c.stats.rejoinAttempts.Load(),
		Rejoins:           c.stats.rejoins.Load(),
		JoinSyncs:         c.stats.joinSyncs.Load(),
		EventsDropped:     c.hub.numDropped(),
		Alive:             n[StatusAlive],
		Draining:          n[StatusDraining],
		Suspect:           n[StatusSuspect],
		Dead:              n[StatusDead],
		Left:              n[StatusLeft],
	}
}
