package main

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"time"

	"github.com/farmhand/farmhand/agent/client"
	"github.com/farmhand/farmhand/membership"
)

// watchWait is the wait of each blocking query of members -watch.
const watchWait = 5 * time.Minute

// watchRetry bounds the pause between calls while the agent does not
// answer (a restart, say).
const (
	watchRetryMin = 500 * time.Millisecond
	watchRetryMax = 10 * time.Second
)

// watchMembers follows the view from index with blocking queries and
// prints one JSON line (a membership.Event) per change among the members
// matching f, until ctx ends (exit 0). An agent that stops answering is
// waited for, with one line on stderr; a restarted agent's view is
// compared with the last one seen, so no change is missed.
func watchMembers(ctx context.Context, env *cmdEnv, c *client.Client, f client.Filter, prev []membership.Member, index uint64) int {
	enc := json.NewEncoder(env.Stdout)
	pause, lost := watchRetryMin, false
	for {
		ms, next, err := c.WatchMembers(ctx, f, index, watchWait)
		switch {
		case ctx.Err() != nil:
			return 0
		case errors.Is(err, client.ErrNotRunning) || errors.Is(err, client.ErrTimeout):
			if !lost {
				errorf(env, "members", "%v; still watching", err)
				lost = true
			}
			t := time.NewTimer(pause)
			select {
			case <-ctx.Done():
				t.Stop()
				return 0
			case <-t.C:
			}
			pause = min(2*pause, watchRetryMax)
			continue
		case err != nil:
			return clientFailure(env, "members", err)
		}
		if lost {
			errorf(env, "members", "the agent answers again")
			lost, pause = false, watchRetryMin
		}
		for _, ev := range viewChanges(prev, ms) {
			ev.Index = next
			if err := enc.Encode(ev); err != nil {
				errorf(env, "members", "writing a change: %v", err)
				return 1
			}
		}
		prev, index = ms, next
	}
}

// viewChanges lists what changed from one view to the next, as the view's
// own events: a join for a new member, a status change (with the previous
// status), an update of address or tags, a reap for a member gone. Both
// views are sorted by name; so is the result.
func viewChanges(prev, next []membership.Member) []membership.Event {
	var out []membership.Event
	i, j := 0, 0
	for i < len(prev) || j < len(next) {
		switch {
		case j == len(next) || (i < len(prev) && prev[i].Name < next[j].Name):
			out = append(out, membership.Event{Type: membership.EventReap, Member: prev[i]})
			i++
		case i == len(prev) || next[j].Name < prev[i].Name:
			out = append(out, membership.Event{Type: membership.EventJoin, Member: next[j]})
			j++
		default:
			p, n := prev[i], next[j]
			switch {
			case p.Status != n.Status:
				out = append(out, membership.Event{Type: membership.EventStatus, Member: n, Prev: p.Status})
			case p.Addr != n.Addr || p.Port != n.Port || !maps.Equal(p.Tags, n.Tags):
				out = append(out, membership.Event{Type: membership.EventUpdate, Member: n})
			}
			i++
			j++
		}
	}
	return out
}
