package render

import "time"

// dueAt is when a change first seen at first, and last seen at last, may be
// applied under s: after WaitMin of quiet but no later than WaitMax after
// the first change (the debounce), and never before the view has been
// unchanged for Stable.
func dueAt(first, last time.Time, s Spec) time.Time {
	due := last.Add(s.WaitMin)
	if limit := first.Add(s.WaitMax); limit.Before(due) {
		due = limit
	}
	if stable := last.Add(s.Stable); stable.After(due) {
		due = stable
	}
	return due
}
