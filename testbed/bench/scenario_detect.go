package main

import (
	"context"
	"math"
	"slices"
	"time"
)

// detect crashes p.Crashes non-seed members one after another and
// measures, for each, the time until 99% of the survivors held it dead.
func detect(ctx context.Context, c *cluster, p plan, limit time.Duration) []detectResult {
	var out []detectResult
	for r := 0; r < p.Crashes && ctx.Err() == nil; r++ {
		victim, ok := c.pickVictim()
		if !ok {
			break
		}
		var res detectResult
		survivors := slices.DeleteFunc(c.live(), func(n string) bool { return n == victim })
		c.rec.expect(survivors, time.Now())
		res.Of = len(survivors)
		need := int(math.Ceil(0.99 * float64(res.Of)))
		w := startWindow(c.k)
		t0, err := c.crash(victim)
		if err == nil {
			res.OK = waitFor(ctx, p.DetectTimeout, func() bool {
				return len(c.rec.deadTimes(victim)) >= need
			})
		}
		res.judge(w, limit)
		times := c.rec.deadTimes(victim)
		res.Seen = len(times)
		if res.OK {
			lat := make(sample, len(times))
			for i, t := range times {
				lat[i] = c.k.proto(t.Sub(t0)).Seconds()
			}
			slices.Sort(lat)
			res.T99 = time.Duration(lat[need-1] * float64(time.Second))
			res.P50 = time.Duration(lat.median() * float64(time.Second))
		}
		out = append(out, res)
		// Let the stragglers catch up before the next crash.
		waitFor(ctx, c.k.wall(10*time.Second), func() bool { return len(c.rec.deadTimes(victim)) >= res.Of })
	}
	return out
}
