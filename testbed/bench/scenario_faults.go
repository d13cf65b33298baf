package main

import (
	"context"
	"time"
)

// faultGrace is how long verdicts are still counted after a fault window:
// a suspicion raised at the window's end turns into a dead verdict after
// the suspicion timeout, which minimum it covers at these sizes for both
// implementations' timers.
func faultGrace(t timers, n int) time.Duration {
	return suspicionMin(t, n) + 2*t.ProbeInterval
}

// lossRun drops p.Loss of all packets for p.LossWindow in a cluster where
// nobody fails, and counts suspicions and (false) dead verdicts. A zero
// window skips the run.
func lossRun(ctx context.Context, c *cluster, p plan, limit time.Duration) faultResult {
	if p.LossWindow <= 0 {
		return faultResult{}
	}
	res := faultResult{Ran: true, Window: c.k.proto(p.LossWindow), Members: c.size()}
	res.Grace = faultGrace(c.impl.Timers(), res.Members)
	sink, restore := installSuspectCounter()
	defer restore()
	c.rec.expect(c.live(), time.Now())
	fd0, _, _, _ := c.rec.faults()
	w := startWindow(c.k)
	_ = c.net.SetLoss(p.Loss)
	pause(ctx, p.LossWindow)
	_ = c.net.SetLoss(0)
	pause(ctx, c.k.wall(res.Grace))
	res.judge(w, limit)
	fd1, _, _, _ := c.rec.faults()
	res.FalseDead = fd1 - fd0
	res.Suspects = sink.suspects.Load()
	return res
}

// stallRun pauses p.Stalled random members for p.StallFor every
// p.StallEvery during p.StallWindow (a GC pause, a throttled burstable
// instance) and counts suspicions and false dead verdicts. A zero window
// skips the run.
func stallRun(ctx context.Context, c *cluster, p plan, limit time.Duration) faultResult {
	if p.StallWindow <= 0 {
		return faultResult{}
	}
	res := faultResult{Ran: true, Window: c.k.proto(p.StallWindow), Members: c.size()}
	res.Grace = faultGrace(c.impl.Timers(), res.Members) + c.k.proto(p.StallFor)
	sink, restore := installSuspectCounter()
	defer restore()
	c.rec.expect(c.live(), time.Now())
	fd0, _, _, _ := c.rec.faults()
	w := startWindow(c.k)
	end := time.Now().Add(p.StallWindow)
	for time.Now().Before(end) && ctx.Err() == nil {
		live := c.live()
		for k := 0; k < p.Stalled && len(live) > 0; k++ {
			i := c.rng.IntN(len(live))
			if err := c.net.Stall(c.addrOf(live[i]), p.StallFor); err == nil {
				res.Stalls++
			}
			live = append(live[:i], live[i+1:]...)
		}
		pause(ctx, p.StallEvery)
	}
	pause(ctx, c.k.wall(res.Grace))
	res.judge(w, limit)
	fd1, _, _, _ := c.rec.faults()
	res.FalseDead = fd1 - fd0
	res.Suspects = sink.suspects.Load()
	return res
}
