package main

import (
	"strings"
	"testing"
	"time"

	"github.com/farmhand/farmhand/membership"
	"github.com/hashicorp/memberlist"
)

// fakeRun is a kept run with a converged cold start, late joins and
// crashes with the given figures (protocol time).
func fakeRun(impl string, n int, k dilation, cold time.Duration, late []time.Duration, crashes []time.Duration) runResult {
	run := runResult{Impl: impl, N: n, K: k, Wall: time.Minute}
	run.Cold = coldResult{Converged: true, Converge: cold, Complete: n}
	run.Rest = restResult{CPUms: 0.5, HeapKB: 100, Members: n}
	run.Rest.Win = windowStats{Wall: k.wall(5 * time.Second), Span: 5 * time.Second, CPU: time.Second}
	for _, l := range late {
		run.Late = append(run.Late, lateResult{OK: true, Self: 3 * time.Millisecond, All: l})
	}
	for _, c := range crashes {
		run.Detect = append(run.Detect, detectResult{OK: true, T99: c, P50: c - 100*time.Millisecond, Seen: n - 1, Of: n - 1})
	}
	return run
}

// TestDilationReport renders the dilated part from made-up runs and checks
// that it judges the validation and the targets from the figures: an
// agreeing and a differing figure, a met and a missed target, and a size
// the discard rule rejected at every factor.
func TestDilationReport(t *testing.T) {
	s := scaleDefault
	s.Large.Sizes = []int{1000, 2000}
	rep := &report{Plan: plan{Name: "scale", Scale: &s}, Started: time.Now(), Finished: time.Now(), Args: []string{"-mode", "scale"}}
	rep.Impls = map[string]implInfo{
		"farmhand": {Describe: "farmhand", Timers: timersOf(membership.DefaultLANConfig().Memberlist), ProbeTimeout: 250 * time.Millisecond, HasS3: true},
		"stock":    {Describe: "stock", Timers: timersOf(memberlist.DefaultLANConfig()), ProbeTimeout: 500 * time.Millisecond},
	}
	sec := func(v ...float64) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x * float64(time.Second))
		}
		return out
	}
	rep.Validation = []runResult{
		fakeRun("farmhand", 200, realTime, 1700*time.Millisecond, sec(0.30, 0.32, 0.40), sec(4.4, 4.5, 5.0)),
		// Cold start 2.5 s against 1.7 s: differs; the rest agree.
		fakeRun("farmhand", 200, 4, 2500*time.Millisecond, sec(0.31, 0.33, 0.41), sec(4.3, 4.6, 5.1)),
	}
	rep.Large = []runResult{
		fakeRun("farmhand", 1000, 8, 3*time.Second, sec(0.5), sec(4.9, 5.2, 7.5)),
		fakeRun("farmhand", 2000, 16, 20*time.Second, sec(0.6), sec(5.5)),
		fakeRun("stock", 1000, 8, 4*time.Second, sec(1), sec(15, 16, 17)),
	}
	// farmhand's N=2000 run kept its rest window but not its cold start,
	// which a cold-start-only run at k=32 kept.
	rep.Large[1].Cold.Discarded = true
	rep.LargeCold = []runResult{fakeRun("farmhand", 2000, 32, 12*time.Second, nil, nil)}
	for _, k := range []dilation{8, 16, 32} {
		tr := fakeRun("stock", 2000, k, 0, nil, nil)
		tr.Cold.Discarded, tr.Cold.Win.SchedP99 = true, time.Duration(k)*200*time.Millisecond
		rep.Tries = append(rep.Tries, tr)
	}
	md := rep.markdown()
	for _, want := range []string{
		"## Large N, measured with time dilation",
		"| cold start at N=2,000: full view everywhere <= 10 s after the last start | 12.0 s, **missed** (dilated, k=32; n=1) | not measured: discarded at k=8, k=16, k=32",
		"| crash seen dead by 99% at N=1,000: p50 <= 6 s | 5.20 s, met (dilated, k=8; n=3) | 16.0 s, **missed** (dilated, k=8; n=3)",
		"| crash seen dead by 99% at N=1,000: p99 <= 10 s | 7.50 s, met (dilated, k=8; n=3)",
		"**Verdict: dilation agrees with real time on 4 of 5 compared figures** within 15%",
		"farmhand N=200, cold start: full view after the last start: 1.70 s in real time, 2.50 s dilated (+47%)",
		"| discarded try | stock | 2000 | k=32 | 1m0s | discarded: cold start discarded",
		"| large size | farmhand | 2000 | k=16 | 1m0s | kept: cold start discarded",
		"| large size, cold start only | farmhand | 2000 | k=32 | 1m0s | kept |",
		"| 2000 | cold start: full view after the last start | 12.0 s (k=32, n=1) |",
		"| 2000 | crash seen dead by 99%, p50 | 5.50 s (k=16, n=1) |",
		"| 1000 | crash seen dead by 99%, p50 | 5.20 s (k=8, n=3) | 16.0 s (k=8, n=3) | 0.33x |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(md, "## Summary against the targets") {
		t.Error("a report without real-time runs or process rows has a real-time summary")
	}
	if t.Failed() || testing.Verbose() {
		t.Log(md)
	}
}
