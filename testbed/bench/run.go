package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// runOne measures one implementation at one cluster size, every scenario
// on the same cluster: cold start, rest, late joins, crashes, loss, stalls.
// p is in protocol time; the run waits k = im.Dilation() times as long and
// reports protocol time (dilate.go).
func runOne(ctx context.Context, p plan, im impl, n int, seed uint64, logf func(string, ...any)) (res runResult) {
	started := time.Now()
	c := newCluster(im, seed)
	res = runResult{Impl: im.Name(), N: n, K: c.k}
	defer func() { res.Wall = time.Since(started) }()
	defer c.close()
	defer func() { _, res.EventsDropped = c.harness() }()
	// The discard rule: scheduler latency p99 within a quarter of the
	// probe timeout as the members run it (dilated).
	limit := c.k.wall(im.ProbeTimeout()) / 4
	name := im.Name()
	if c.k.dilated() {
		name += " " + c.k.String()
	}
	wp := p.dilated(c.k) // what the scenarios wait

	logf("%s N=%d: cold start over %s (%s wall)", name, n, p.Spread, wp.Spread)
	res.Cold = coldStart(ctx, c, wp, n, limit)
	logf("%s N=%d: cold start: converged=%v in %s (%d/%d full views), sched p99 %s, %s CPU in %s wall%s",
		name, n, res.Cold.Converged, res.Cold.Converge.Round(time.Millisecond), res.Cold.Complete, n,
		res.Cold.Win.SchedP99, res.Cold.Win.CPU.Round(time.Millisecond), res.Cold.Win.Wall.Round(time.Millisecond), discardNote(res.Cold.measured))
	if p.onlyCold() {
		return res
	}
	if !res.Cold.Converged {
		for _, line := range c.rec.incompleteWith(5, c.describe) {
			logf("%s N=%d: %s", name, n, line)
		}
		tot := c.net.Total()
		logf("%s N=%d: network: %d packets sent, %d lost, %d dropped on full queues, %d dials refused, %d timed out",
			name, n, tot.PacketsOut, tot.Lost, tot.Overflow, tot.DialRefused, tot.DialTimeouts)
		res.Cold.Views = describeSizes(c.rec.viewSizes())
		// Measure the rest anyway: join every member to the oldest ones (a
		// static seed list) and wait for full views again.
		t0 := time.Now()
		if !repair(ctx, c, wp) {
			res.Err = fmt.Sprintf("no full view everywhere within %s of the last start (%s), nor after joining every member to the %d oldest",
				p.ConvergeTimeout, res.Cold.Views, seedCount)
			return res
		}
		res.Repaired = c.k.proto(time.Since(t0))
		logf("%s N=%d: repaired by joining every member to the %d oldest; full views after %s",
			name, n, seedCount, res.Repaired.Round(time.Millisecond))
	}

	bootEnd, s3AtBootEnd := time.Now(), s3Snapshot(im)
	defer func() {
		res.AfterBoot = s3Snapshot(im).sub(s3AtBootEnd)
		for _, l := range res.Late {
			res.AfterBoot = res.AfterBoot.sub(l.S3)
		}
		res.AfterBootSpan = c.k.proto(time.Since(bootEnd))
		if im.S3() != nil {
			logf("%s N=%d: S3 after boot: %+v in %s", name, n, res.AfterBoot, res.AfterBootSpan.Round(time.Second))
		}
	}()

	res.Rest = rest(ctx, c, wp, limit)
	if res.Rest.Members > 0 {
		logf("%s N=%d: quiet after %s (%v); at rest: %.3f ms CPU per member per second, %.0f KB heap per member%s",
			name, n, res.Rest.Settled.Round(time.Millisecond), res.Rest.Quiet, res.Rest.CPUms, res.Rest.HeapKB, discardNote(res.Rest.measured))
	}

	if p.Probe && !res.honest() {
		// The size is past what the machine hosts (at this k): the other
		// scenarios would measure the harness (a late join can wait out
		// the whole ConvergeTimeout each), and the probe stops here anyway.
		logf("%s N=%d: not honest at rest; skipping this size's other scenarios", name, n)
		return res
	}

	res.Late = lateJoins(ctx, c, wp, limit)
	for i, l := range res.Late {
		logf("%s N=%d: late join %d: ok=%v self %s, all %s%s", name, n, i+1, l.OK,
			l.Self.Round(time.Millisecond), l.All.Round(time.Millisecond), discardNote(l.measured))
	}

	res.Detect = detect(ctx, c, wp, limit)
	for i, d := range res.Detect {
		logf("%s N=%d: crash %d: ok=%v 99%% in %s, median survivor %s (%d/%d)%s", name, n, i+1, d.OK,
			d.T99.Round(time.Millisecond), d.P50.Round(time.Millisecond), d.Seen, d.Of, discardNote(d.measured))
	}

	res.Loss = lossRun(ctx, c, wp, limit)
	if res.Loss.Ran {
		logf("%s N=%d: %.0f%% loss for %s: %d suspicions, %d false dead%s", name, n, p.Loss*100, p.LossWindow,
			res.Loss.Suspects, res.Loss.FalseDead, discardNote(res.Loss.measured))
	}

	res.Stall = stallRun(ctx, c, wp, limit)
	if res.Stall.Ran {
		logf("%s N=%d: %d stalls of %s: %d suspicions, %d false dead%s", name, n, res.Stall.Stalls, p.StallFor,
			res.Stall.Suspects, res.Stall.FalseDead, discardNote(res.Stall.measured))
	}
	return res
}

// discardNote is a log suffix for discarded runs.
func discardNote(m measured) string {
	if m.Discarded {
		return fmt.Sprintf(" [DISCARDED: scheduler latency p99 %s]", m.Win.SchedP99)
	}
	return ""
}

// honest reports whether the harness can host this size: the cluster
// reached full views (by itself or after repair) and its rest window was
// not discarded. (A discarded cold start only discards that row: the join
// storm is the harness's worst moment.)
func (r runResult) honest() bool {
	return r.Err == "" && !r.Rest.Discarded
}

// describeSizes renders viewSizes as "179 members see 179, 21 see 21".
func describeSizes(sizes map[int]int) string {
	keys := slices.Sorted(maps.Keys(sizes))
	slices.Reverse(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d members see %d", sizes[k], k))
	}
	return strings.Join(parts, ", ")
}

// repair joins every live member to the oldest members (static seeds) and
// waits for every view to be full; it reports whether they got full.
func repair(ctx context.Context, c *cluster, p plan) bool {
	c.mu.Lock()
	seeds := append([]string(nil), c.seeds...)
	nodes := make([]node, 0, len(c.nodes))
	for _, nd := range c.nodes {
		nodes = append(nodes, nd)
	}
	c.mu.Unlock()
	c.rec.expect(c.live(), time.Now())
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, nd := range nodes {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_, _ = nd.Join(ctx, seeds)
		}()
	}
	wg.Wait()
	return waitFor(ctx, p.ConvergeTimeout, func() bool {
		done, _ := c.rec.complete()
		return done == c.size()
	})
}
