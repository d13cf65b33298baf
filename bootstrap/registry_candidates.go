package bootstrap

import (
	"cmp"
	"context"
	"slices"
	"strings"
)

// Candidates returns up to want valid records to join, leaving out self's
// own record: own-AZ records first, then the rest. It takes the newest
// records (by the object's LastModified: the likeliest to be alive) and,
// when want > 1, also the oldest (see keepOldestInPlay). want <= 0 means all.
//
// It lists every page, drops objects over MaxRecordSize by their listed
// size, and then GETs objects newest first, only as many as are still
// needed to reach want (in rounds of at most Concurrency), skipping
// garbage. Cost: ceil(keys/1000) LIST + want GET, plus one GET per
// unusable object among the newest; the own-AZ preference applies only to
// the records fetched.
func (r *Registry) Candidates(ctx context.Context, self Identity, want int) ([]Record, error) {
	objs, err := r.listObjects(ctx)
	if err != nil {
		return nil, err
	}
	own := r.Key(self.InstanceID)
	objs = r.screen(slices.DeleteFunc(objs, func(o object) bool { return o.key == own }))
	r.lastListed.Store(int64(len(objs) + 1)) // the others, plus ourselves
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
	for len(objs) > 0 && len(out) < want {
		n := min(want-len(out), r.cfg.Concurrency, len(objs))
		recs, err := r.load(ctx, objs[:n])
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
		objs = objs[n:]
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
