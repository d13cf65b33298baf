package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// This file writes the time-dilated part of the report (issue 12 §4):
// the validation of dilation, the large sizes and the targets at N=1,000
// and 2,000 measured there, beside the formula models.

// dilatedQuantity is one figure compared or reported for dilated runs.
type dilatedQuantity struct {
	Name string
	// Get returns the figure in seconds and how many samples it rests on;
	// NaN when the run has none.
	Get func(*runResult) (float64, int)
	// Model is the formula for it at n (protocol time), or nil.
	Model func(timers, int) time.Duration
	// Check marks the figures the validation verdict counts; Cold the
	// cold start's.
	Check, Cold bool
}

// quantileOf returns a dilatedQuantity getter for quantile q of a sample.
func quantileOf(get func(*runResult) sample, q float64) func(*runResult) (float64, int) {
	return func(run *runResult) (float64, int) {
		s := get(run)
		if len(s) == 0 {
			return math.NaN(), 0
		}
		return s.q(q), len(s)
	}
}

// coldConverge is a run's kept cold-start convergence time.
func coldConverge(run *runResult) (float64, int) {
	if !run.Cold.Converged || run.Cold.Discarded {
		return math.NaN(), 0
	}
	return run.Cold.Converge.Seconds(), 1
}

// dilatedQuantities are the figures of the validation and large tables.
var dilatedQuantities = []dilatedQuantity{
	{Name: "cold start: full view after the last start", Get: coldConverge, Check: true, Cold: true},
	{Name: "late joiner sees all, p50", Get: quantileOf(lateSelf, 0.5), Check: true},
	{Name: "all see late joiner, p50", Get: quantileOf(lateAll, 0.5), Model: joinSeenModel, Check: true},
	{Name: "all see late joiner, p99", Get: quantileOf(lateAll, 0.99), Model: joinSeenModel},
	{Name: "crash seen dead by 99%, p50", Get: quantileOf(detectT99, 0.5), Model: detectModel, Check: true},
	{Name: "crash seen dead by 99%, p99", Get: quantileOf(detectT99, 0.99), Model: detectModel, Check: true},
}

// restFigure returns a kept rest window's figure, NaN otherwise.
func restFigure(run *runResult, get func(restResult) float64) float64 {
	if run.Err != "" || run.Rest.Win.Wall == 0 || run.Rest.Discarded {
		return math.NaN()
	}
	return get(run.Rest)
}

func restCPU(run *runResult) float64 {
	return restFigure(run, func(x restResult) float64 { return x.CPUms })
}

func restHeap(run *runResult) float64 {
	return restFigure(run, func(x restResult) float64 {
		if x.HeapKB < 0 {
			return math.NaN()
		}
		return x.HeapKB
	})
}

// findLarge returns impl's kept dilated run at n, or nil; for the cold
// start (cold), the cold-start-only run that kept it if there is one.
func (r *report) findLarge(impl string, n int, cold bool) *runResult {
	if cold {
		if run := runOf(r.LargeCold, impl, n, 0); run != nil {
			return run
		}
	}
	return runOf(r.Large, impl, n, 0)
}

// writeDilation writes the whole dilated part, if the mode ran one.
func (r *report) writeDilation(b *strings.Builder) {
	s := r.Plan.Scale
	if s == nil {
		return
	}
	fmt.Fprintf(b, "## Large N, measured with time dilation\n\n")
	fmt.Fprintf(b, "Two cores cannot run 1,000 members at real speed, so these sizes run with **time dilation** (DieCast, NSDI 2008): "+
		"with a factor k, every timer is k times longer: all of memberlist's (probe interval and timeout, gossip, push/pull, TCP timeout, gossip to the dead, reclaim, queue check), "+
		"all of farmhand's (join syncs, reconnect, isolation check and backoff, reap, broadcast timeout), the registry's and the boot's retry backoff, "+
		"and the harness's own (cold-start spread, settle, rest, pauses, timeouts). Every measured duration is divided by k, and CPU per member per protocol second is CPU per wall second times k. "+
		"Suspicion multipliers are ratios of the probe interval and stay. "+
		"What does not dilate is compute: work that takes 2 ms of CPU takes 2/k ms of protocol time, so a dilated run measures the protocol on a machine k times faster than this one, "+
		"over the same network with no latency (memnet adds none, so there is none to dilate), and the embedded S3 answers in real time. "+
		"The discard rule is the same in protocol time: scheduler latency p99 within a quarter of the probe timeout, i.e. within k times that in wall time. "+
		"Each size runs at the smallest k in %s under which its cold start and its rest window are kept, starting from the k the previous size needed. "+
		"Scenarios: cold start over %s, %s of quiet then %s at rest, %d late joiners, %d crashes (p99 across crashes is their maximum); no loss or stall runs (see the real-time sizes).\n\n",
		factorList(s.Factors), s.Large.Spread, s.Large.Settle, s.Large.Rest, s.Large.LateJoins, s.Large.Crashes)
	r.writeDilatedTargets(b)
	r.writeValidation(b, s)
	r.writeLarge(b, s)
	r.writeDilatedWall(b)
}

// factorList renders factors as "k = 2, 4, 8".
func factorList(fs []dilation) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = fmt.Sprint(f.factor())
	}
	return "k = " + strings.Join(parts, ", ")
}

// writeDilatedTargets writes the large-N targets against the
// dilated figures.
func (r *report) writeDilatedTargets(b *strings.Builder) {
	fmt.Fprintf(b, "### Targets at N=1,000 and 2,000 (dilated measurements)\n\n")
	fmt.Fprintf(b, "| target | farmhand | stock | farmhand model (formula, not a measurement) |\n|---|---|---|---|\n")
	rows := []struct {
		what  string
		n     int
		limit float64
		get   func(*runResult) (float64, int)
		model func(timers, int) time.Duration
		cold  bool
	}{
		{"cold start at N=2,000: full view everywhere <= 10 s after the last start", 2000, 10, coldConverge, nil, true},
		{"crash seen dead by 99% at N=1,000: p50 <= 6 s", 1000, 6, quantileOf(detectT99, 0.5), detectModel, false},
		{"crash seen dead by 99% at N=1,000: p99 <= 10 s", 1000, 10, quantileOf(detectT99, 0.99), detectModel, false},
	}
	for _, row := range rows {
		cell := func(impl string) string {
			if _, ok := r.Impls[impl]; !ok {
				return "not run"
			}
			run := r.findLarge(impl, row.n, row.cold)
			if run == nil {
				return "not measured: " + r.whyNotLarge(impl, row.n)
			}
			v, k := row.get(run)
			if math.IsNaN(v) {
				return fmt.Sprintf("not measured at %s: %s", run.K, r.whyNoFigure(run))
			}
			verdict := "met"
			if v > row.limit {
				verdict = "**missed**"
			}
			return fmt.Sprintf("%s, %s (dilated, %s; n=%d)", secs(v), verdict, run.K, k)
		}
		model := "not modelled (join storm)"
		if row.model != nil {
			model = secs(row.model(r.Impls["farmhand"].Timers, row.n).Seconds())
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", row.what, cell("farmhand"), cell("stock"), model)
	}
	b.WriteString("\n")
}

// whyNotLarge explains why impl has no kept dilated run at n.
func (r *report) whyNotLarge(impl string, n int) string {
	s := r.Plan.Scale
	if !slices.Contains(s.Large.Sizes, n) {
		return fmt.Sprintf("N=%d is not among this run's dilated sizes", n)
	}
	var ks []string
	for _, t := range r.Tries {
		if t.Impl == impl && t.N == n {
			ks = append(ks, t.K.String())
		}
	}
	if len(ks) > 0 {
		return fmt.Sprintf("discarded at %s (the machine was too slow even dilated)", strings.Join(ks, ", "))
	}
	return "not reached (a smaller size found no factor the discard rule keeps, or the run was cut short)"
}

// whyNoFigure explains why a kept run lacks a figure.
func (r *report) whyNoFigure(run *runResult) string {
	switch {
	case run.Err != "":
		return run.Err
	case run.Cold.Discarded:
		return fmt.Sprintf("the cold start was discarded here and at every larger factor tried (scheduler latency p99 %s wall)", run.Cold.Win.SchedP99)
	case !run.Cold.Converged:
		return fmt.Sprintf("no full view everywhere within %s (%s)", run.Cold.Timeout, run.Cold.Views)
	}
	return "every sample was discarded or timed out (see Discarded and failed runs)"
}

// writeValidation compares the validation sizes' real-time and dilated
// runs.
func (r *report) writeValidation(b *strings.Builder, s *scalePlan) {
	v := s.Validate
	if len(v.Sizes) == 0 {
		return
	}
	k := v.Dilation
	fmt.Fprintf(b, "### Validation: real time against %s\n\n", k)
	fmt.Fprintf(b, "The same cluster size and scenarios (cold start over %s, %d late joiners, %d crashes) run in real time and dilated by k=%g. "+
		"A dilated figure agrees when it is within %.0f%% of the real-time one. Scheduler latency is shown in protocol time (wall / k).\n\n",
		v.Spread, v.LateJoins, v.Crashes, k.factor(), s.Tolerance*100)
	fmt.Fprintf(b, "| N | impl | figure | real time | %s | difference | verdict |\n|---:|---|---|---|---|---|---|\n", k)
	var agree, total int
	var notes []string
	for _, n := range v.Sizes {
		for _, impl := range r.implNames() {
			a, d := runOf(r.Validation, impl, n, realTime), runOf(r.Validation, impl, n, k)
			if a == nil || d == nil {
				fmt.Fprintf(b, "| %d | %s | – | %s | %s | – | not run |\n", n, impl, runState(a), runState(d))
				continue
			}
			for _, q := range dilatedQuantities {
				va, na := q.Get(a)
				vd, nd := q.Get(d)
				diff, verdict := math.NaN(), "not compared"
				if !math.IsNaN(va) && !math.IsNaN(vd) && va > 0 {
					diff = (vd - va) / va
					switch {
					case !q.Check:
						verdict = "(not counted)"
					case math.Abs(diff) <= s.Tolerance:
						verdict = "agree"
						agree++
						total++
					default:
						verdict = "**differ**"
						total++
						notes = append(notes, fmt.Sprintf("- %s N=%d, %s: %s", impl, n, q.Name, r.whyDiffer(impl, va, vd, a, d, q)))
					}
				}
				fmt.Fprintf(b, "| %d | %s | %s | %s | %s | %s | %s |\n", n, impl, q.Name, withN(va, na), withN(vd, nd), pct(diff), verdict)
			}
			fmt.Fprintf(b, "| %d | %s | CPU per member per protocol second at rest | %s | %s | %s | (not counted) |\n", n, impl,
				ms(restCPU(a)), ms(restCPU(d)), pct(relDiff(restCPU(a), restCPU(d))))
			fmt.Fprintf(b, "| %d | %s | Go heap per member | %s | %s | %s | (not counted) |\n", n, impl,
				kb(restHeap(a)), kb(restHeap(d)), pct(relDiff(restHeap(a), restHeap(d))))
			fmt.Fprintf(b, "| %d | %s | scheduler latency p99, cold start (protocol time) | %s | %s | – | – |\n", n, impl,
				a.K.proto(a.Cold.Win.SchedP99), d.K.proto(d.Cold.Win.SchedP99))
		}
	}
	b.WriteString("\n")
	switch {
	case total == 0:
		fmt.Fprintf(b, "**Verdict: not validated.** No figure could be compared (runs missing or discarded).\n\n")
	case agree == total:
		fmt.Fprintf(b, "**Verdict: dilation agrees** with real time on all %d compared figures, within %.0f%%.\n\n", total, s.Tolerance*100)
	default:
		fmt.Fprintf(b, "**Verdict: dilation agrees with real time on %d of %d compared figures** within %.0f%%; where it does not:\n\n%s\n\n",
			agree, total, s.Tolerance*100, strings.Join(notes, "\n"))
	}
}

// whyDiffer says what the data show about a figure on which dilation and
// real time differ.
func (r *report) whyDiffer(impl string, va, vd float64, a, d *runResult, q dilatedQuantity) string {
	gi := r.Impls[impl].Timers.GossipInterval.Seconds()
	base := fmt.Sprintf("%s in real time, %s dilated (%s).", secs(va), secs(vd), pct((vd-va)/va))
	if va < gi && vd < gi {
		return base + fmt.Sprintf(" Both are below one gossip interval (%s): no timer sets this figure, the harness's own processing does (a push/pull's merge), and dilation divides processing time by k. "+
			"It is compute-bound; the dilated figure is what a machine k times faster would show.", secs(gi))
	}
	if pa, pd := a.K.proto(a.Cold.Win.SchedP99), d.K.proto(d.Cold.Win.SchedP99); q.Cold && pa > 4*pd {
		return base + fmt.Sprintf(" The real-time cold start ran loaded (scheduler latency p99 %s against %s dilated): the join storm's CPU queue is part of the real-time figure and mostly absent from the dilated one.", pa, pd)
	}
	return base + " Nothing in the run explains it; with one or a few samples per side, run-to-run spread is the first suspect, so treat this figure's dilated values with that margin."
}

// runState describes a missing validation run.
func runState(run *runResult) string {
	if run == nil {
		return "not run"
	}
	return "ran"
}

// withN formats seconds with the sample count.
func withN(v float64, n int) string {
	if math.IsNaN(v) {
		return notMeasured
	}
	return fmt.Sprintf("%s (n=%d)", secs(v), n)
}

// relDiff is (b-a)/a, NaN when either is missing.
func relDiff(a, b float64) float64 {
	if math.IsNaN(a) || math.IsNaN(b) || a == 0 {
		return math.NaN()
	}
	return (b - a) / a
}

// pct formats a relative difference as "+12%".
func pct(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%+.0f%%", v*100)
}

// ms formats milliseconds, kb kilobytes.
func ms(v float64) string {
	if math.IsNaN(v) {
		return notMeasured
	}
	return fmt.Sprintf("%.3f ms", v)
}

func kb(v float64) string {
	if math.IsNaN(v) {
		return notMeasured
	}
	return fmt.Sprintf("%.0f KB", v)
}

// writeLarge writes the dilated large sizes beside the formula models.
func (r *report) writeLarge(b *strings.Builder, s *scalePlan) {
	if len(s.Large.Sizes) == 0 {
		return
	}
	fmt.Fprintf(b, "### Large sizes (dilated)\n\n")
	fmt.Fprintf(b, "Each cell is a measurement in protocol time, with the k it ran at. The *model* columns are memberlist's formulas with each implementation's timers (Extrapolations), "+
		"uncalibrated: they are not measurements. Heap per member includes the harness's views (N entries per member).\n\n")
	fmt.Fprintf(b, "| N | figure | farmhand | stock | farmhand ÷ stock | farmhand model | stock model |\n|---:|---|---|---|---|---|---|\n")
	for _, n := range s.Large.Sizes {
		first := true // the first row of a size says why a run is missing
		row := func(name string, cold bool, get func(*runResult) (float64, string), model func(impl string) string) {
			vals, cells := map[string]float64{}, map[string]string{}
			for _, impl := range implOrder {
				run := r.findLarge(impl, n, cold)
				switch {
				case run == nil && r.Impls[impl].Describe == "":
					vals[impl], cells[impl] = math.NaN(), "not run"
				case run == nil && first:
					vals[impl], cells[impl] = math.NaN(), "not measured: "+r.whyNotLarge(impl, n)
				case run == nil:
					vals[impl], cells[impl] = math.NaN(), "not measured"
				default:
					vals[impl], cells[impl] = get(run)
				}
			}
			fmt.Fprintf(b, "| %d | %s | %s | %s | %s | %s | %s |\n", n, name, cells["farmhand"], cells["stock"],
				ratio(vals["farmhand"], vals["stock"]), model("farmhand"), model("stock"))
			first = false
		}
		noModel := func(string) string { return "–" }
		for _, q := range dilatedQuantities {
			model := noModel
			if q.Model != nil {
				model = func(impl string) string {
					in, ok := r.Impls[impl]
					if !ok {
						return "–"
					}
					return secs(q.Model(in.Timers, n).Seconds())
				}
			}
			if q.Cold {
				model = func(string) string { return "not modelled (join storm)" }
			}
			row(q.Name, q.Cold, func(run *runResult) (float64, string) {
				v, cnt := q.Get(run)
				if math.IsNaN(v) {
					return v, fmt.Sprintf("– (%s)", run.K)
				}
				return v, fmt.Sprintf("%s (%s, n=%d)", secs(v), run.K, cnt)
			}, model)
		}
		row("CPU per member per protocol second at rest", false, func(run *runResult) (float64, string) {
			v := restCPU(run)
			return v, fmt.Sprintf("%s (%s)", ms(v), run.K)
		}, func(impl string) string { return r.cpuModel(impl, n) })
		row("Go heap per member", false, func(run *runResult) (float64, string) {
			v := restHeap(run)
			return v, fmt.Sprintf("%s (%s)", kb(v), run.K)
		}, noModel)
	}
	b.WriteString("\n")
}

// writeDilatedWall lists every run of the dilated part with its wall
// time, to budget the bench.
func (r *report) writeDilatedWall(b *strings.Builder) {
	type labelled struct {
		what string
		runResult
	}
	var runs []labelled
	for _, set := range []struct {
		what string
		runs []runResult
	}{{"validation", r.Validation}, {"discarded try", r.Tries}, {"large size", r.Large}, {"large size, cold start only", r.LargeCold}} {
		for _, run := range set.runs {
			runs = append(runs, labelled{set.what, run})
		}
	}
	if len(runs) == 0 {
		return
	}
	fmt.Fprintf(b, "### Runs of the dilated part and their wall time\n\n")
	fmt.Fprintf(b, "| run | impl | N | k | wall time | outcome |\n|---|---|---:|---|---|---|\n")
	for _, run := range runs {
		limit := run.K.wall(r.Impls[run.Impl].ProbeTimeout) / 4
		var notes []string
		if run.Cold.Discarded {
			notes = append(notes, fmt.Sprintf("cold start discarded (scheduler latency p99 %s wall > %s)", run.Cold.Win.SchedP99, limit))
		}
		if run.Rest.Discarded {
			notes = append(notes, fmt.Sprintf("rest window discarded (scheduler latency p99 %s wall > %s)", run.Rest.Win.SchedP99, limit))
		}
		if run.Err != "" {
			notes = append(notes, run.Err)
		}
		outcome := "kept"
		if run.what == "discarded try" {
			outcome = "discarded"
		}
		if len(notes) > 0 {
			outcome += ": " + strings.Join(notes, "; ")
		}
		fmt.Fprintf(b, "| %s | %s | %d | %s | %s | %s |\n", run.what, run.Impl, run.N, run.K, run.Wall.Round(time.Second), outcome)
	}
	b.WriteString("\n")
}
