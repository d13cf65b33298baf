package main

import (
	"context"
	"time"
)

// lateJoins adds p.LateJoins members one at a time to the converged
// cluster and measures, for each, how long until it saw every member and
// until every member saw it. Joiners stay in the cluster.
func lateJoins(ctx context.Context, c *cluster, p plan, limit time.Duration) []lateResult {
	var out []lateResult
	for r := 0; r < p.LateJoins && ctx.Err() == nil; r++ {
		var res lateResult
		s := c.reserve()
		c.rec.expect(append(c.live(), s.name), time.Now())
		s3Before := s3Snapshot(c.impl)
		w := startWindow(c.k)
		t0 := time.Now()
		nd, err := c.start(s)
		if err == nil {
			err = nd.Boot(ctx)
		}
		if err == nil {
			res.OK = waitFor(ctx, p.ConvergeTimeout, func() bool {
				_, a := c.rec.completeOf(s.name)
				_, b := c.rec.seenByAll(s.name)
				return a && b
			})
		}
		res.judge(w, limit)
		if res.OK {
			self, _ := c.rec.completeOf(s.name)
			all, _ := c.rec.seenByAll(s.name)
			res.Self, res.All = c.k.proto(self.Sub(t0)), c.k.proto(all.Sub(t0))
		}
		res.S3 = s3Snapshot(c.impl).sub(s3Before)
		out = append(out, res)
		pause(ctx, c.k.wall(time.Second)) // let the join's gossip die down
	}
	return out
}
