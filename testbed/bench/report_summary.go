package main

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// largestHonest returns impl's run at the largest size it hosted honestly.
func (r *report) largestHonest(impl string) *runResult {
	var best *runResult
	for i := range r.Runs {
		run := &r.Runs[i]
		if run.Impl == impl && run.honest() && (best == nil || run.N > best.N) {
			best = run
		}
	}
	return best
}

// lateSelf, lateAll, detectT99 collect a run's kept samples.
func lateSelf(run *runResult) sample {
	var s sample
	for _, l := range run.Late {
		if l.OK && !l.Discarded {
			s = append(s, l.Self.Seconds())
		}
	}
	return s
}

func lateAll(run *runResult) sample {
	var s sample
	for _, l := range run.Late {
		if l.OK && !l.Discarded {
			s = append(s, l.All.Seconds())
		}
	}
	return s
}

func detectT99(run *runResult) sample {
	var s sample
	for _, d := range run.Detect {
		if d.OK && !d.Discarded {
			s = append(s, d.T99.Seconds())
		}
	}
	return s
}

// summaryCell formats a value measured at the run's size.
func summaryCell(run *runResult, text string) string {
	if run == nil {
		return "not run"
	}
	return fmt.Sprintf("%s at N=%d", text, run.N)
}

// writeSummary writes the targets table from DESIGN.md.
func (r *report) writeSummary(b *strings.Builder) {
	fmt.Fprintf(b, "## Summary against the targets\n\n")
	fmt.Fprintf(b, "Measured at the largest N each implementation hosted honestly in this process. The targets are for N=1,000; the *model at 1,000* columns are extrapolations by formula (see Extrapolations), not measurements.")
	if r.Plan.Scale != nil {
		fmt.Fprintf(b, " The targets at N=1,000 and 2,000 are measured, with time dilation, in the next section.")
	}
	b.WriteString("\n\n")
	fh, st := r.largestHonest("farmhand"), r.largestHonest("stock")
	fmt.Fprintf(b, "| what | target | farmhand | stock | farmhand ÷ stock | farmhand model at 1,000 | stock model at 1,000 |\n|---|---|---|---|---|---|---|\n")

	row := func(what, target string, get func(*runResult) (float64, string), model func(string) string) {
		cell := func(run *runResult) (float64, string) {
			if run == nil {
				return math.NaN(), "not run"
			}
			v, s := get(run)
			return v, summaryCell(run, s)
		}
		fv, fs := cell(fh)
		sv, ss := cell(st)
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", what, target, fs, ss, ratio(fv, sv), model("farmhand"), model("stock"))
	}
	q := func(get func(*runResult) sample, p float64) func(*runResult) (float64, string) {
		return func(run *runResult) (float64, string) {
			s := get(run)
			if len(s) == 0 {
				return math.NaN(), notMeasured
			}
			return s.q(p), secs(s.q(p))
		}
	}
	row("late joiner sees all, p99", "<= 1 s", q(lateSelf, 0.99), func(impl string) string {
		return r.fitModel(impl, lateSelf, 0.99, func(n int) float64 { return float64(n) }, 1000)
	})
	row("all see late joiner, p99", "(Serf 2.0 s; Ringpop 0.2–1 s)", q(lateAll, 0.99), func(impl string) string {
		return r.calibrated(impl, lateAll, 0.99, func(t timers, n int) time.Duration { return joinSeenModel(t, n) }, 1000)
	})
	row("cold start, full view after last start", "<= 10 s", func(run *runResult) (float64, string) {
		switch {
		case !run.Cold.Converged:
			return math.NaN(), fmt.Sprintf("**none in %s** (%s)", r.Plan.ConvergeTimeout, run.Cold.Views)
		case run.Cold.Discarded:
			return math.NaN(), "discarded"
		}
		return run.Cold.Converge.Seconds(), secs(run.Cold.Converge.Seconds())
	}, func(string) string { return "not modelled (join storm)" })
	row("cold start, S3 requests per agent", "<= 3", func(run *runResult) (float64, string) {
		if !r.Impls[run.Impl].HasS3 {
			return math.NaN(), "no registry"
		}
		v := s3Cost(run).Boot.Total()
		return v, num(v)
	}, func(impl string) string {
		if !r.Impls[impl].HasS3 {
			return "–"
		}
		return "same per agent (1 LIST page per 1,000 keys)"
	})
	row("crash seen dead by 99%, p50", "<= 6 s", q(detectT99, 0.5), func(impl string) string {
		return r.calibrated(impl, detectT99, 0.5, detectModel, 1000)
	})
	row("crash seen dead by 99%, p99", "<= 10 s", q(detectT99, 0.99), func(impl string) string {
		return r.calibrated(impl, detectT99, 0.99, detectModel, 1000)
	})
	row("false dead verdicts at 5% loss", "0", func(run *runResult) (float64, string) {
		if !run.Loss.Ran || run.Loss.Discarded {
			return math.NaN(), notMeasured
		}
		return float64(run.Loss.FalseDead), fmt.Sprintf("%d (%d suspicions in %s)", run.Loss.FalseDead, run.Loss.Suspects, (run.Loss.Window + run.Loss.Grace).Round(time.Second))
	}, func(string) string { return "–" })
	row("S3 cost at steady state", "<= $1 per 1,000 nodes per month", func(run *runResult) (float64, string) {
		if !r.Impls[run.Impl].HasS3 {
			return math.NaN(), "no registry"
		}
		v := s3Cost(run).Run.Dollars() * hoursPerMon * 1000
		return v, fmt.Sprintf("$%.2f (after-boot rate)", v)
	}, func(string) string { return "–" })
	row("CPU per member per second at rest", "(no target)", func(run *runResult) (float64, string) {
		if run.Rest.Discarded {
			return math.NaN(), "discarded"
		}
		return run.Rest.CPUms, fmt.Sprintf("%.3f ms", run.Rest.CPUms)
	}, func(impl string) string { return r.cpuModel(impl, 1000) })
	for _, h := range r.Hooks {
		cell := h.Value
		if h.Err != "" {
			cell = "not measured: " + h.Err
		}
		fmt.Fprintf(b, "| %s | %s | %s | – | – | – | – |\n", h.What, h.Target, cell)
	}
	b.WriteString("\n")
}

// fitModel fits quantile p of get linearly in x(N) over impl's honest runs
// and evaluates it at n.
func (r *report) fitModel(impl string, get func(*runResult) sample, p float64, x func(int) float64, n int) string {
	var xs, ys []float64
	for i := range r.Runs {
		run := &r.Runs[i]
		if run.Impl != impl || !run.honest() {
			continue
		}
		if s := get(run); len(s) > 0 {
			xs = append(xs, x(run.N))
			ys = append(ys, s.q(p))
		}
	}
	a, bb, ok := linearFit(xs, ys)
	switch {
	case !ok:
		return "n/a (needs 2 sizes)"
	case bb <= 0:
		return fmt.Sprintf("no growth measured (%s at N=%d)", secs(ys[len(ys)-1]), int(xs[len(xs)-1]))
	}
	return fmt.Sprintf("%s (linear in N, %d sizes)", secs(a+bb*x(n)), len(xs))
}

// calibration returns measured/model at impl's largest honest size.
func (r *report) calibration(impl string, get func(*runResult) sample, p float64, model func(timers, int) time.Duration) (float64, *runResult) {
	run := r.largestHonest(impl)
	if run == nil {
		return math.NaN(), nil
	}
	s := get(run)
	m := model(r.Impls[impl].Timers, run.N).Seconds()
	if len(s) == 0 || m == 0 {
		return math.NaN(), run
	}
	return s.q(p) / m, run
}

// calibrated evaluates model at n scaled by the measured/model ratio.
func (r *report) calibrated(impl string, get func(*runResult) sample, p float64, model func(timers, int) time.Duration, n int) string {
	in, ok := r.Impls[impl]
	if !ok {
		return "not run"
	}
	k, _ := r.calibration(impl, get, p, model)
	if math.IsNaN(k) {
		return "n/a"
	}
	return fmt.Sprintf("%s (model x %.2f)", secs(model(in.Timers, n).Seconds()*k), k)
}

// cpuModel fits CPU per member = a + b*N/pushPullScale(N) over the honest
// runs: probes and gossip cost the same per member at any size, push/pull
// state grows with N and its interval with log2(N).
func (r *report) cpuModel(impl string, n int) string {
	if _, ok := r.Impls[impl]; !ok {
		return "not run"
	}
	var xs, ys []float64
	for i := range r.Runs {
		run := &r.Runs[i]
		if run.Impl == impl && run.honest() {
			xs = append(xs, float64(run.N)/pushPullScale(run.N))
			ys = append(ys, run.Rest.CPUms)
		}
	}
	a, bb, ok := linearFit(xs, ys)
	switch {
	case !ok:
		return "n/a (needs 2 sizes)"
	case bb <= 0:
		return fmt.Sprintf("no growth measured (%.3f ms at the largest N)", ys[len(ys)-1])
	}
	return fmt.Sprintf("%.3f ms (a + b·N/scale(N), %d sizes)", a+bb*float64(n)/pushPullScale(n), len(xs))
}

// writeExtrapolations writes the formula table for 1,000 and 10,000.
func (r *report) writeExtrapolations(b *strings.Builder) {
	fmt.Fprintf(b, "## Extrapolations (models, not measurements)\n\n")
	fmt.Fprintf(b, "memberlist's own formulas with each implementation's timers. *Suspicion min* = SuspicionMult·max(1, log10 N)·ProbeInterval; "+
		"*max* = SuspicionMaxTimeoutMult·min; *fires* = when the timer expires if the k = SuspicionMult−2 expected confirmations arrive one per probe interval "+
		"(the timeout shrinks from max to min as log(c+1)/log(k+1)); *gossip* = (log_{f+1} N + ln N / f) rounds of GossipInterval with fanout f; "+
		"*detection* = ½ probe interval to the first probe + 1 probe interval + fires + gossip; push/pull interval scales by ceil(log2 N − 5) + 1 above 32 members. "+
		"*Calibrated* multiplies a model by measured ÷ model at the largest honest N.\n\n")
	ns := []int{100, 200, 1000, 10000}
	fmt.Fprintf(b, "| impl | quantity |")
	for _, n := range ns {
		fmt.Fprintf(b, " N=%d |", n)
	}
	fmt.Fprintf(b, "\n|---|---|%s\n", strings.Repeat("---:|", len(ns)))
	for _, impl := range r.implNames() {
		t := r.Impls[impl].Timers
		line := func(name string, f func(n int) string) {
			fmt.Fprintf(b, "| %s | %s |", impl, name)
			for _, n := range ns {
				fmt.Fprintf(b, " %s |", f(n))
			}
			b.WriteString("\n")
		}
		dur := func(f func(timers, int) time.Duration) func(int) string {
			return func(n int) string { return secs(f(t, n).Seconds()) }
		}
		line("suspicion timeout min", dur(suspicionMin))
		line("suspicion timeout max", dur(suspicionMax))
		line("suspicion fires (k confirmations)", dur(suspicionFires))
		line("gossip rounds", func(n int) string { return fmt.Sprintf("%.1f", gossipRounds(n, t.GossipNodes)) })
		line("gossip to all", dur(gossipTime))
		line("detection by 99% (model)", dur(detectModel))
		kd, _ := r.calibration(impl, detectT99, 0.5, detectModel)
		line(fmt.Sprintf("detection p50, calibrated (x%.2f)", kd), func(n int) string {
			return secs(detectModel(t, n).Seconds() * kd)
		})
		kj, _ := r.calibration(impl, lateAll, 0.5, joinSeenModel)
		line(fmt.Sprintf("all see joiner p50, calibrated (x%.2f)", kj), func(n int) string {
			return secs(joinSeenModel(t, n).Seconds() * kj)
		})
		line("push/pull interval", func(n int) string {
			return secs(t.PushPullInterval.Seconds() * pushPullScale(n))
		})
		line("CPU per member per second (fit)", func(n int) string { return r.cpuModel(impl, n) })
	}
	b.WriteString("\n")
}

// writeDiscarded lists the runs the discard rule removed.
func (r *report) writeDiscarded(b *strings.Builder) {
	fmt.Fprintf(b, "## Discarded and failed runs\n\n")
	var lines []string
	add := func(run *runResult, what string, m measured) {
		if m.Discarded {
			lines = append(lines, fmt.Sprintf("- %s N=%d%s %s: scheduler latency p99 %s > %s (probe timeout%s / 4); process CPU %s over %s wall.",
				run.Impl, run.N, kNote(run.K), what, m.Win.SchedP99, run.K.wall(r.Impls[run.Impl].ProbeTimeout)/4, kTimes(run.K), secs(m.Win.CPU.Seconds()), secs(m.Win.Wall.Seconds())))
		}
	}
	var runs []*runResult
	for _, set := range [][]runResult{r.Runs, r.Validation, r.Large} {
		for i := range set {
			runs = append(runs, &set[i])
		}
	}
	for _, run := range runs {
		switch {
		case run.Err != "":
			lines = append(lines, fmt.Sprintf("- %s N=%d%s: %s.", run.Impl, run.N, kNote(run.K), run.Err))
		case !run.Cold.Converged:
			lines = append(lines, fmt.Sprintf("- %s N=%d%s: the cold start reached no full view everywhere within %s (%s). "+
				"The harness then joined every member to the %d oldest members (full views %s later) and measured the other scenarios on that cluster.",
				run.Impl, run.N, kNote(run.K), run.Cold.Timeout, run.Cold.Views, seedCount, secs(run.Repaired.Seconds())))
		}
		if run.EventsDropped > 0 {
			lines = append(lines, fmt.Sprintf("- %s N=%d%s: the harness missed %d view events (full subscription buffers); its timings may be late.", run.Impl, run.N, kNote(run.K), run.EventsDropped))
		}
		add(run, "cold start", run.Cold.measured)
		add(run, "rest", run.Rest.measured)
		for j, l := range run.Late {
			add(run, fmt.Sprintf("late join %d", j+1), l.measured)
		}
		for j, d := range run.Detect {
			add(run, fmt.Sprintf("crash %d", j+1), d.measured)
		}
		add(run, "loss run", run.Loss.measured)
		add(run, "stall run", run.Stall.measured)
	}
	if len(lines) == 0 {
		lines = []string{"None."}
	}
	b.WriteString(strings.Join(lines, "\n") + "\n\n")
}

// writeUnmeasured lists the rows that have no figure, and why.
func (r *report) writeUnmeasured(b *strings.Builder) {
	fmt.Fprintf(b, "## Not measured yet\n\n")
	for _, h := range r.Hooks {
		if h.Err != "" {
			fmt.Fprintf(b, "- **%s** (target %s): not measured. %s.\n", h.What, h.Target, h.Err)
		} else {
			fmt.Fprintf(b, "- **%s** (target %s): %s\n", h.What, h.Target, h.Value)
		}
	}
	b.WriteString("\n")
}

// kNote labels a dilated run (" (k=4)"); real-time runs get nothing.
func kNote(k dilation) string {
	if !k.dilated() {
		return ""
	}
	return " (" + k.String() + ")"
}

// kTimes is " x k" for a dilated run's discard limit.
func kTimes(k dilation) string {
	if !k.dilated() {
		return ""
	}
	return fmt.Sprintf(" x %g", k.factor())
}
