package render

import (
	"fmt"

	"github.com/farmhand/farmhand/membership"
)

// Match reports whether m passes every non-empty field of f.
func (f Filter) Match(m membership.Member) bool {
	if len(f.Status) > 0 && !hasStatus(f.Status, m.Status) {
		return false
	}
	if f.Role != "" && m.Tags["role"] != f.Role {
		return false
	}
	for k, v := range f.Tags {
		if got, ok := m.Tags[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// validate rejects statuses the membership package does not know.
func (f Filter) validate() error {
	for _, s := range f.Status {
		if !hasStatus(allStatuses, s) {
			return fmt.Errorf("filter status %q is not one of alive, draining, suspect, dead, left", s)
		}
	}
	return nil
}

var allStatuses = []membership.Status{
	membership.StatusAlive, membership.StatusDraining, membership.StatusSuspect, membership.StatusDead, membership.StatusLeft,
}

func hasStatus(list []membership.Status, s membership.Status) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// isLive reports whether m is alive, draining or suspect: still a cluster
// member, still running.
func isLive(m membership.Member) bool {
	return isActive(m) || isDraining(m)
}

// isActive reports whether m is alive or suspect: live and not draining,
// so not to be decommissioned.
func isActive(m membership.Member) bool {
	return m.Status == membership.StatusAlive || m.Status == membership.StatusSuspect
}

// isDraining reports whether m announced that it is going away (a spot
// interruption, an Auto Scaling termination): still up, but work should
// move off it.
func isDraining(m membership.Member) bool { return m.Status == membership.StatusDraining }

// isExcluded reports whether m belongs in an exclude list: it is gone, or
// it is draining and should be decommissioned while it is still up.
func isExcluded(m membership.Member) bool { return isGone(m) || isDraining(m) }

// isGone reports whether m is dead or has left.
func isGone(m membership.Member) bool {
	return m.Status == membership.StatusDead || m.Status == membership.StatusLeft
}
