package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// tinyPlan runs every scenario once on a handful of members.
func tinyPlan(faults bool) plan {
	p := plan{
		Name: "test", Spread: 200 * time.Millisecond, Settle: 100 * time.Millisecond, Rest: 300 * time.Millisecond,
		LateJoins: 1, Crashes: 1, Loss: 0.05, Stalled: 1, StallFor: 300 * time.Millisecond, StallEvery: 400 * time.Millisecond,
		ConvergeTimeout: 30 * time.Second, DetectTimeout: 60 * time.Second,
	}
	if faults {
		p.LossWindow, p.StallWindow = 500*time.Millisecond, 500*time.Millisecond
	}
	return p
}

// TestHarnessRunsBothImplementations runs the whole harness on tiny
// clusters and checks that each scenario produced a measurement and the
// report renders them.
func TestHarnessRunsBothImplementations(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real memberlist clusters for about 20 s; skipped with -short")
	}
	ctx := context.Background()
	rep := &report{Plan: tinyPlan(true), Started: time.Now()}
	for _, name := range []string{"farmhand", "stock"} {
		im, err := implMakers[name](ctx, realTime)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p := tinyPlan(name == "farmhand") // stock's fault runs add 12 s of grace
		run := runOne(ctx, p, im, 5, 1, t.Logf)
		if err := im.Close(); err != nil {
			t.Errorf("%s close: %v", name, err)
		}
		rep.describe(im)
		rep.Runs = append(rep.Runs, run)
		if run.Err != "" || !run.Cold.Converged {
			t.Fatalf("%s: cold start of 5 did not converge: %s", name, run.Err)
		}
		if len(run.Late) != 1 || !run.Late[0].OK || run.Late[0].All <= 0 {
			t.Errorf("%s: late join not measured: %+v", name, run.Late)
		}
		if len(run.Detect) != 1 || !run.Detect[0].OK || run.Detect[0].Seen < run.Detect[0].Of*99/100 {
			t.Errorf("%s: crash not detected: %+v", name, run.Detect)
		}
		if run.Rest.Win.CPU <= 0 || run.Rest.Members != 5 {
			t.Errorf("%s: rest window measured nothing: %+v", name, run.Rest)
		}
	}
	fh := rep.run("farmhand", 5)
	if boot := fh.Cold.S3; boot.Put < 5 || boot.List < 4 {
		t.Errorf("farmhand cold start made %+v S3 requests; every member registers (PUT) and all but one list", boot)
	}
	if !fh.Loss.Ran || !fh.Stall.Ran || fh.Stall.Stalls == 0 {
		t.Errorf("farmhand fault runs did not run: loss %+v stall %+v", fh.Loss, fh.Stall)
	}
	// The hook rows run real agent processes for minutes; here one stands
	// in to check how an unmeasured row is reported.
	rep.Hooks = append(rep.Hooks, hookResult{What: "a process-level row", Target: "<= 1 s", Err: "skipped in this test"})
	rep.Finished = time.Now()
	md := rep.markdown()
	for _, want := range []string{"## Summary against the targets", "### Failure detection", "### S3 cost", "## Extrapolations", "not measured"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// TestDilatedRunMeasuresProtocolTime runs farmhand dilated by 2 and checks
// both halves of dilation on a figure that timers alone set: at rest each
// member pings one peer per probe interval and acks the pings it gets, 4
// packets per protocol second with farmhand's 500 ms interval. Undilated
// timers would show about 8, undivided measurements about 2.
func TestDilatedRunMeasuresProtocolTime(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a dilated cluster for about 15 s; skipped with -short")
	}
	const k dilation = 2
	ctx := context.Background()
	im, err := implMakers["farmhand"](ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	p := tinyPlan(false)
	p.Rest = 3 * time.Second
	p.LateJoins, p.Crashes = 0, 0
	run := runOne(ctx, p, im, 5, 1, t.Logf)
	if err := im.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if !run.Cold.Converged || run.K != k {
		t.Fatalf("cold start of 5 at %s did not converge (k recorded %s): %s", k, run.K, run.Err)
	}
	if w := run.Rest.Win.Wall; w < k.wall(p.Rest) {
		t.Errorf("rest window lasted %s of wall time, want at least %s (%s x %s)", w, k.wall(p.Rest), p.Rest, k)
	}
	if run.Rest.Discarded {
		t.Skipf("the rest window was discarded (scheduler latency p99 %s): the machine is too loaded to judge", run.Rest.Win.SchedP99)
	}
	pps := perMemberSecond(float64(run.Rest.Net.PacketsOut), run.Rest)
	if pps < 3 || pps > 5.5 {
		t.Errorf("%.2f packets per member per protocol second at rest, want about 4 (one ping and one ack per 500 ms probe interval)", pps)
	}
	if run.Wall < k.wall(p.Spread+p.Rest) {
		t.Errorf("the run took %s of wall time, less than its dilated windows", run.Wall)
	}
}

// The real-process section (-real) comes first, before the harness's own
// method: real processes are the reference.
func TestRealProcessSectionComesFirst(t *testing.T) {
	rep := &report{Plan: plans["quick"], Real: "## Real processes, side by side with Serf\n\nfigures\n"}
	md := rep.markdown()
	real, method := strings.Index(md, "## Real processes"), strings.Index(md, "## Method")
	if real < 0 || method < 0 || real > method {
		t.Fatalf("real-process section at %d, method at %d:\n%s", real, method, md)
	}
	if !strings.Contains(md, "## The in-process harness") {
		t.Error("no heading separates the harness from the real processes")
	}
}

// A report of another run (-extra) is appended with its headings one
// level down, so the document keeps one title.
func TestExtraReportIsDemoted(t *testing.T) {
	rep := &report{Plan: plans["quick"], Extra: []string{"# farmhand benchmarks\n\nGenerated by `go run ./testbed/bench -mode scale`.\n\n## Machine\n\n### Validation\n"}}
	md := rep.markdown()
	if strings.Count(md, "\n# ") != 0 || !strings.HasPrefix(md, "# farmhand benchmarks") {
		t.Errorf("more than one title:\n%s", md)
	}
	for _, want := range []string{"## A separate run of the harness", "\n### Machine\n", "\n#### Validation\n", "-mode scale"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
