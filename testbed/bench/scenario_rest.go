package main

import (
	"context"
	"time"
)

// rest lets the converged cluster settle, then measures CPU, heap,
// traffic and registry requests over p.Rest with nothing happening.
func rest(ctx context.Context, c *cluster, p plan, limit time.Duration) restResult {
	var res restResult
	pause(ctx, p.Settle)
	n := c.size()
	res.Members = n
	harnessHeap, _ := c.harness()
	heap := int64(heapInUse()) - harnessHeap
	s3Before := s3Snapshot(c.impl)
	netBefore := c.net.Total()
	w := startWindow()
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
	if n > 0 && res.Win.Wall > 0 {
		res.CPUms = float64(res.Win.CPU.Microseconds()) / 1000 / float64(n) / res.Win.Wall.Seconds()
		res.HeapKB = float64(heap) / 1024 / float64(n)
	}
	return res
}
