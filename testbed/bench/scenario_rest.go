package main

import (
	"context"
	"time"
)

// rest waits for the converged cluster to go quiet, then measures CPU,
// heap, traffic and registry requests over p.Rest with nothing happening.
// A zero p.Rest skips it.
func rest(ctx context.Context, c *cluster, p plan, limit time.Duration) restResult {
	var res restResult
	if p.Rest <= 0 {
		return res
	}
	settled, quiet := settle(ctx, c, p)
	res.Settled, res.Quiet = c.k.proto(settled), quiet
	n := c.size()
	res.Members = n
	harnessHeap, _ := c.harness()
	heap := int64(heapInUse()) - harnessHeap - c.baseHeap
	s3Before := s3Snapshot(c.impl)
	netBefore := c.net.Total()
	w := startWindow(c.k)
	pause(ctx, p.Rest)
	res.judge(w, limit)
	netAfter := c.net.Total()
	res.S3 = s3Snapshot(c.impl).sub(s3Before)
	res.Net = netAfter
	res.Net.PacketsOut -= netBefore.PacketsOut
	res.Net.BytesOut -= netBefore.BytesOut
	res.Net.StreamBytesOut -= netBefore.StreamBytesOut
	res.Net.Lost -= netBefore.Lost
	res.Net.Overflow -= netBefore.Overflow
	if n > 0 && res.Win.Span > 0 {
		res.CPUms = float64(res.Win.CPU.Microseconds()) / 1000 / float64(n) / res.Win.Span.Seconds()
		res.HeapKB = float64(heap) / 1024 / float64(n)
	}
	return res
}

// settle waits until the cluster sends no more packets than probing alone
// does (a ping and an ack per member per probe interval, plus a margin;
// gossip sends nothing once the broadcast queues are empty), measured over
// the last four probe intervals, for p.Settle in a row, at most
// p.ConvergeTimeout. It returns how long that took and whether it got
// quiet at all.
func settle(ctx context.Context, c *cluster, p plan) (time.Duration, bool) {
	step := c.k.wall(250 * time.Millisecond)
	pi := c.k.wall(c.impl.Timers().ProbeInterval)
	quietRate := 1.25 * 2 / pi.Seconds()
	span := int(4 * pi / step) // samples in the averaging window
	start := time.Now()
	var quietSince time.Time
	counts := []uint64{c.net.Total().PacketsOut}
	for time.Since(start) < p.ConvergeTimeout {
		if !pause(ctx, step) {
			return time.Since(start), false
		}
		counts = append(counts, c.net.Total().PacketsOut)
		if len(counts) <= span {
			continue
		}
		counts = counts[len(counts)-span-1:]
		rate := float64(counts[span]-counts[0]) / (time.Duration(span) * step).Seconds() / float64(max(1, c.size()))
		switch {
		case rate > quietRate:
			quietSince = time.Time{}
		case quietSince.IsZero():
			quietSince = time.Now()
		}
		if !quietSince.IsZero() && time.Since(quietSince) >= p.Settle {
			return time.Since(start), true
		}
	}
	return time.Since(start), false
}
