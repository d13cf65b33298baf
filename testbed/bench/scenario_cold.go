package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// coldStart launches n members evenly over p.Spread, each booting as its
// implementation does, and measures the time from the last start until
// every member has the full view, plus the registry requests per member.
// p is in wall time (plan.dilated); the result in protocol time.
func coldStart(ctx context.Context, c *cluster, p plan, n int, limit time.Duration) coldResult {
	res := coldResult{Spread: c.k.proto(p.Spread), Timeout: c.k.proto(p.ConvergeTimeout)}
	slots := make([]slot, n)
	names := make([]string, n)
	for i := range slots {
		slots[i] = c.reserve()
		names[i] = slots[i].name
	}
	c.rec.expect(names, time.Now())
	s3Before := s3Snapshot(c.impl)
	w := startWindow(c.k)
	t0 := time.Now()

	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		lastStart time.Time
		bootErrs  atomic.Int64
	)
	bootCtx, cancelBoot := context.WithCancel(ctx)
	defer cancelBoot()
	for i, s := range slots {
		offset := time.Duration(0)
		if n > 1 {
			offset = p.Spread * time.Duration(i) / time.Duration(n-1)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !pause(bootCtx, time.Until(t0.Add(offset))) {
				return
			}
			nd, err := c.start(s)
			if err != nil {
				bootErrs.Add(1)
				return
			}
			mu.Lock()
			if now := time.Now(); now.After(lastStart) {
				lastStart = now
			}
			mu.Unlock()
			if err := nd.Boot(bootCtx); err != nil {
				bootErrs.Add(1)
			}
		}()
	}

	res.Converged = waitFor(ctx, p.Spread+p.ConvergeTimeout, func() bool {
		done, _ := c.rec.complete()
		return done == n
	})
	res.judge(w, limit)
	done, last := c.rec.complete()
	res.Complete = done
	mu.Lock()
	if res.Converged {
		res.Converge = c.k.proto(last.Sub(lastStart))
	}
	mu.Unlock()
	cancelBoot()
	wg.Wait()
	res.BootErrors = int(bootErrs.Load())
	res.S3 = s3Snapshot(c.impl).sub(s3Before)
	return res
}

// s3Snapshot reads the impl's registry counters (zero without a registry).
func s3Snapshot(im impl) s3Counts {
	if srv := im.S3(); srv != nil {
		return countsOf(srv.Counts())
	}
	return s3Counts{}
}
