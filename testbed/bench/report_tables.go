package main

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// metric is one measured quantity of a run: its value (NaN if none) and
// how to show it.
type metric struct {
	Name string
	Get  func(*runResult) (float64, string)
}

// notMeasured is shown for a quantity a run has no value for.
const notMeasured = "–"

// table writes one side-by-side table: a row per size and metric, a
// column per implementation and the farmhand ÷ stock ratio.
func (r *report) table(b *strings.Builder, title, intro string, ms []metric) {
	fmt.Fprintf(b, "### %s\n\n%s\n\n", title, intro)
	fmt.Fprintf(b, "| N | measure | farmhand | stock | farmhand ÷ stock |\n|---:|---|---|---|---|\n")
	for _, n := range r.sizes() {
		for _, m := range ms {
			vals := map[string]float64{}
			cells := map[string]string{}
			for _, name := range implOrder {
				run := r.run(name, n)
				switch {
				case run == nil:
					vals[name], cells[name] = math.NaN(), "not run"
				default:
					vals[name], cells[name] = m.Get(run)
				}
			}
			fmt.Fprintf(b, "| %d | %s | %s | %s | %s |\n", n, m.Name, cells["farmhand"], cells["stock"], ratio(vals["farmhand"], vals["stock"]))
		}
	}
	b.WriteString("\n")
}

// writeTables writes the per-scenario tables.
func (r *report) writeTables(b *strings.Builder) {
	fmt.Fprintf(b, "## Measurements\n\n")
	r.table(b, "Cold start", "Time from the last member's start until every member has the full view.", []metric{
		{"full view after last start", func(run *runResult) (float64, string) {
			c := run.Cold
			switch {
			case !c.Converged:
				return math.NaN(), fmt.Sprintf("**no full view in %s** (%s)", r.Plan.ConvergeTimeout, c.Views)
			case c.Discarded:
				return math.NaN(), fmt.Sprintf("discarded (sched p99 %s; was %s)", c.Win.SchedP99, secs(c.Converge.Seconds()))
			}
			return c.Converge.Seconds(), secs(c.Converge.Seconds())
		}},
		{"boot errors", func(run *runResult) (float64, string) {
			return float64(run.Cold.BootErrors), fmt.Sprint(run.Cold.BootErrors)
		}},
		{"process CPU during the cold start", func(run *runResult) (float64, string) {
			w := run.Cold.Win
			if w.Wall == 0 {
				return math.NaN(), notMeasured
			}
			return w.CPU.Seconds(), fmt.Sprintf("%s CPU in %s wall", secs(w.CPU.Seconds()), secs(w.Wall.Seconds()))
		}},
	})
	lateSample := func(get func(lateResult) time.Duration) func(*runResult) sample {
		return func(run *runResult) sample {
			var s sample
			for _, l := range run.Late {
				if l.OK && !l.Discarded {
					s = append(s, get(l).Seconds())
				}
			}
			return s
		}
	}
	self := lateSample(func(l lateResult) time.Duration { return l.Self })
	all := lateSample(func(l lateResult) time.Duration { return l.All })
	r.table(b, "Late joiner", "One member joins a converged cluster of N: *self* until it sees all N, *all* until all N see it.", []metric{
		quantileMetric("joiner sees all, p50", self, 0.5),
		quantileMetric("joiner sees all, p99", self, 0.99),
		quantileMetric("all see joiner, p50", all, 0.5),
		quantileMetric("all see joiner, p99", all, 0.99),
	})
	t99 := func(run *runResult) sample {
		var s sample
		for _, d := range run.Detect {
			if d.OK && !d.Discarded {
				s = append(s, d.T99.Seconds())
			}
		}
		return s
	}
	med := func(run *runResult) sample {
		var s sample
		for _, d := range run.Detect {
			if d.OK && !d.Discarded {
				s = append(s, d.P50.Seconds())
			}
		}
		return s
	}
	r.table(b, "Failure detection", "One member crashes; time until 99% of the survivors hold it dead (quantiles across crashes), and the median survivor's time.", []metric{
		quantileMetric("99% hold it dead, p50", t99, 0.5),
		quantileMetric("99% hold it dead, p99", t99, 0.99),
		quantileMetric("median survivor, p50", med, 0.5),
		{"crashes not seen by 99% in time", func(run *runResult) (float64, string) {
			if run.Err != "" {
				return math.NaN(), notMeasured
			}
			k := 0
			for _, d := range run.Detect {
				if !d.OK {
					k++
				}
			}
			return float64(k), fmt.Sprintf("%d of %d (timeout %s)", k, len(run.Detect), r.Plan.DetectTimeout)
		}},
	})
	r.table(b, "False positives", "Nobody fails. A suspicion is one member marking one peer suspect (memberlist's `memberlist.msg.suspect`): a single failed probe that gossip spreads counts once per member that adopts it. Rates are cluster-wide per hour; false dead verdicts (a member declaring a live peer dead) are counted, not rated.", []metric{
		faultMetric("suspicions per hour, 5% loss", func(run *runResult) faultResult { return run.Loss }, true),
		faultMetric("false dead verdicts, 5% loss", func(run *runResult) faultResult { return run.Loss }, false),
		faultMetric("suspicions per hour, stalls", func(run *runResult) faultResult { return run.Stall }, true),
		faultMetric("false dead verdicts, stalls", func(run *runResult) faultResult { return run.Stall }, false),
	})
	r.table(b, "At rest", "The converged cluster doing nothing but gossip.", []metric{
		restMetric("CPU per member per second", func(x restResult) (float64, string) {
			return x.CPUms, fmt.Sprintf("%.3f ms", x.CPUms)
		}),
		restMetric("Go heap per member", func(x restResult) (float64, string) {
			if x.HeapKB < 0 {
				// The baseline held garbage of the previous cluster.
				return math.NaN(), "n/a (heap shrank below the baseline taken before the cluster started)"
			}
			return x.HeapKB, fmt.Sprintf("%.0f KB", x.HeapKB)
		}),
		restMetric("packets sent per member per second", func(x restResult) (float64, string) {
			v := perMemberSecond(float64(x.Net.PacketsOut), x)
			return v, fmt.Sprintf("%.2f", v)
		}),
		restMetric("bytes sent per member per second (UDP + TCP)", func(x restResult) (float64, string) {
			v := perMemberSecond(float64(x.Net.BytesOut+x.Net.StreamBytesOut), x)
			return v, fmt.Sprintf("%.0f B", v)
		}),
	})
	r.writeS3(b)
}

// quantileMetric shows quantile q of a sample with its spread and size.
func quantileMetric(name string, get func(*runResult) sample, q float64) metric {
	return metric{name, func(run *runResult) (float64, string) {
		s := get(run)
		if len(s) == 0 {
			return math.NaN(), notMeasured
		}
		v := s.q(q)
		return v, fmt.Sprintf("%s (%s, n=%d)", secs(v), s.spread(secs), len(s))
	}}
}

// faultMetric shows a false-positive run's suspicions per hour or its
// false dead verdicts.
func faultMetric(name string, get func(*runResult) faultResult, perHour bool) metric {
	return metric{name, func(run *runResult) (float64, string) {
		f := get(run)
		switch {
		case !f.Ran:
			return math.NaN(), notMeasured
		case f.Discarded:
			return math.NaN(), fmt.Sprintf("discarded (sched p99 %s)", f.Win.SchedP99)
		case perHour:
			h := (f.Window + f.Grace).Hours()
			v := float64(f.Suspects) / h
			return v, fmt.Sprintf("%.0f (%d in %s)", v, f.Suspects, (f.Window + f.Grace).Round(time.Second))
		}
		return float64(f.FalseDead), fmt.Sprint(f.FalseDead)
	}}
}

// restMetric shows one at-rest figure unless the window was discarded.
func restMetric(name string, get func(restResult) (float64, string)) metric {
	return metric{name, func(run *runResult) (float64, string) {
		switch {
		case run.Err != "" || run.Rest.Win.Wall == 0:
			return math.NaN(), notMeasured
		case run.Rest.Discarded:
			return math.NaN(), fmt.Sprintf("discarded (sched p99 %s)", run.Rest.Win.SchedP99)
		}
		return get(run.Rest)
	}}
}

// perMemberSecond divides a rest-window total by members and protocol
// seconds.
func perMemberSecond(total float64, x restResult) float64 {
	if x.Win.Span == 0 || x.Members == 0 {
		return math.NaN()
	}
	return total / x.Win.Span.Seconds() / float64(x.Members)
}
