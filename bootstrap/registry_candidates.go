package bootstrap

import (
	"cmp"
	"context"
	"slices"
	"strings"
)

// Candidates returns up to want records to join, leaving out self's own:
// own-AZ records first, then the rest. It takes the newest records (by the
// object's LastModified: the likeliest to be alive) and, when want > 1,
// also the oldest (see keepOldestInPlay). want <= 0 means all.
//
// It lists every page and reads the candidates from their keys (see Key):
// the records it returns carry the cluster, name, AZ, address and port,
// and nothing else. Cost: ceil(keys/1000) LIST and no GET, so joining
// costs the same whatever the fan-out.
//
// With a SigningKey the key alone proves nothing, so it GETs and verifies
// the records, newest first, only as many as are still needed to reach
// want (in rounds of at most Concurrency), skipping garbage and records
// that do not match their key. Cost: ceil(keys/1000) LIST + want GET, plus
// one GET per unusable object among the newest.
//
// Keys of self's own name other than the one this Registry last wrote
// are left behind by an earlier run at another address; they are deleted.
func (r *Registry) Candidates(ctx context.Context, self Identity, want int) ([]Record, error) {
	objs, err := r.listObjects(ctx)
	if err != nil {
		return nil, err
	}
	objs = r.screen(objs)
	r.dropOwn(ctx, self.InstanceID, objs)
	objs = slices.DeleteFunc(objs, func(o object) bool { return o.rec.Name == self.InstanceID })
	r.lastListed.Store(int64(distinctNames(objs) + 1)) // the others, plus ourselves
	slices.SortFunc(objs, func(a, b object) int {
		if c := b.modified.Compare(a.modified); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	if want <= 0 {
		want = len(objs)
	}
	objs = keepOldestInPlay(objs, want)

	var out []Record
	if len(r.cfg.SigningKey) == 0 {
		for _, o := range objs[:min(want, len(objs))] {
			out = append(out, o.rec)
		}
	} else if out, err = r.loadUpTo(ctx, objs, want); err != nil {
		return nil, err
	}

	// Stable: within each group the newest-first order stays.
	sameAZ := func(rec Record) int {
		if self.AvailabilityZone != "" && rec.AZ == self.AvailabilityZone {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(out, func(a, b Record) int { return cmp.Compare(sameAZ(a), sameAZ(b)) })
	return out, nil
}

// loadUpTo GETs objs in order, in rounds of at most Concurrency, until it
// has want valid records or none are left.
func (r *Registry) loadUpTo(ctx context.Context, objs []object, want int) ([]Record, error) {
	var out []Record
	for len(objs) > 0 && len(out) < want {
		n := min(want-len(out), r.cfg.Concurrency, len(objs))
		recs, err := r.load(ctx, objs[:n])
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
		objs = objs[n:]
	}
	return out, nil
}

// dropOwn deletes the listed keys of name other than the one this Registry
// last wrote for it: records an earlier run left at another address. It
// does nothing before this Registry has written name's record.
func (r *Registry) dropOwn(ctx context.Context, name string, objs []object) {
	r.mu.Lock()
	current := r.written[name].key
	r.mu.Unlock()
	if current == "" {
		return
	}
	var stale []string
	for _, o := range objs {
		if o.rec.Name == name && o.key != current {
			stale = append(stale, o.key)
		}
	}
	r.removeStale(ctx, stale)
}

// LastListed is how many plausible records (this node included) the last
// Candidates call listed, or 0 before the first. The agent compares it with
// the gossip view to tell when it looks isolated, at no extra S3 cost.
func (r *Registry) LastListed() int { return int(r.lastListed.Load()) }

// keepOldestInPlay reorders newest-first objects so that the first want
// include the oldest max(1, want/3) of them, right after the newest one.
//
// Newest-only discovery split clusters at cold start: in a fleet booting
// together, the newest members join the other newest members, whose views
// are the least complete, and at N=200 the benchmark saw a group form at
// the newest end of the registry that never learned of the rest (184/16,
// 164/36). The oldest records belong to the members with the most complete
// view (or to dead ones; a stale candidate costs nothing because the agent
// contacts its candidates concurrently and needs only one answer).
func keepOldestInPlay(objs []object, want int) []object {
	if want <= 1 || len(objs) <= want {
		return objs
	}
	k := max(1, want/3)
	out := make([]object, 0, len(objs))
	out = append(out, objs[0])
	for i := len(objs) - 1; i >= len(objs)-k; i-- {
		out = append(out, objs[i])
	}
	out = append(out, objs[1:len(objs)-k]...)
	return out
}
