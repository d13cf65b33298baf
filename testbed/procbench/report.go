package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// report is everything one run measured.
type report struct {
	Plan      plan         `json:"plan"`
	Machine   string       `json:"machine"`
	Started   time.Time    `json:"started"`
	Finished  time.Time    `json:"finished"`
	Impls     []implInfo   `json:"impls"`
	Runs      []runResult  `json:"runs"`
	StoppedAt int          `json:"stopped_at,omitempty"`
	Loss      []lossResult `json:"loss,omitempty"`
}

type implInfo struct {
	Name     string `json:"name"`
	Describe string `json:"describe"`
}

// machine describes the host in one line.
func machine() string {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%d cores (%s), %s/%s, %s", runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

// metric is one row family of the report: how to read it off a run, how
// to print it, and the target beside it.
type metric struct {
	title  string
	unit   string
	get    func(r runResult) (float64, bool)
	format func(v float64) string
	// target is the goal for farmhand / Serf (the ratio), printed beside it.
	target string
	// goal is the highest acceptable ratio (0: no pass/fail column).
	goal float64
}

func secs(d time.Duration) float64 { return d.Seconds() }

var metrics = []metric{
	{title: "Cold start: all processes running → every agent has seen N alive", unit: "s",
		get: func(r runResult) (float64, bool) {
			return secs(r.Cold), r.Err == "" && len(r.ColdMissing) == 0
		},
		format: fmtSecs, target: "≤ 0.8x Serf (at most 1x)", goal: 1},
	{title: "Late joiner: one more agent → it sees all and all see it", unit: "s",
		get:    func(r runResult) (float64, bool) { return secs(r.Late), r.LateOK },
		format: fmtSecs},
	{title: "Crash: kill -9 → every survivor holds it dead (Serf: failed)", unit: "s",
		get:    func(r runResult) (float64, bool) { return secs(r.Crash), r.CrashOK },
		format: fmtSecs, target: "≤ 0.5x Serf", goal: 0.5},
	{title: "CPU per agent at rest (mean over the agents)", unit: "ms/s",
		get:    func(r runResult) (float64, bool) { return r.CPUMean, r.Err == "" && len(r.ColdMissing) == 0 },
		format: func(v float64) string { return fmt.Sprintf("%.2f", v) }, target: "≤ 1x Serf", goal: 1},
	{title: "Anonymous memory per agent (RssAnon, median)", unit: "MB",
		get:    func(r runResult) (float64, bool) { return r.Anon, r.Err == "" && len(r.ColdMissing) == 0 },
		format: fmtMB, target: "≤ 1x Serf", goal: 1},
	{title: "RSS per agent (median)", unit: "MB",
		get:    func(r runResult) (float64, bool) { return r.RSS, r.Err == "" && len(r.ColdMissing) == 0 },
		format: fmtMB, target: "≤ 1.25x Serf", goal: 1.25},
}

func fmtSecs(v float64) string { return fmt.Sprintf("%.2f s", v) }
func fmtMB(v float64) string   { return fmt.Sprintf("%.1f MB", v) }

// sizes returns the sizes measured, ascending.
func (r *report) sizes() []int {
	var out []int
	for _, run := range r.Runs {
		if !slices.Contains(out, run.N) {
			out = append(out, run.N)
		}
	}
	slices.Sort(out)
	return out
}

// values returns a metric's values for impl at size n, and how many runs
// did not produce one.
func (r *report) values(m metric, impl string, n int) (vals []float64, failed int) {
	for _, run := range r.Runs {
		if run.Impl != impl || run.N != n {
			continue
		}
		if v, ok := m.get(run); ok {
			vals = append(vals, v)
		} else {
			failed++
		}
	}
	return vals, failed
}

// honestAt reports whether every run at size n measured the agents, and
// the first reason if not.
func (r *report) honestAt(n int) (bool, string) {
	for _, run := range r.Runs {
		if run.N == n {
			if why := run.dishonest(); why != "" {
				return false, fmt.Sprintf("%s #%d: %s", run.Impl, run.Repeat, why)
			}
		}
	}
	return true, ""
}

func (r *report) write(path string) error {
	var b strings.Builder
	r.render(&b)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func (r *report) render(b *strings.Builder) {
	if len(r.Runs) == 0 && len(r.Loss) > 0 {
		// A loss-only run (-only loss): its section alone.
		fmt.Fprintf(b, "## Real processes under packet loss\n\nMeasured by `go run ./testbed/procbench -only loss` (part of `make bench`) from %s to %s on %s.\n\n",
			r.Started.UTC().Format("2006-01-02 15:04"), r.Finished.UTC().Format("15:04 MST"), r.Machine)
		r.renderLoss(b)
		return
	}
	fmt.Fprintf(b, "## Real processes, side by side with Serf\n\n")
	fmt.Fprintf(b, "Measured by `go run ./testbed/procbench -mode %s` (part of `make bench`) from %s to %s on %s.\n\n",
		r.Plan.Name, r.Started.UTC().Format("2006-01-02 15:04"), r.Finished.UTC().Format("15:04 MST"), r.Machine)
	fmt.Fprintf(b, "**Method.** Each size runs %d times per implementation, the two alternating (farmhand, Serf, Serf, farmhand, ...), each on a machine with nothing else of the benchmark running. One run is a cycle: N agent processes started at once; the time from the last process running until every agent has seen N members alive (each agent is asked every %s until it has, then left alone); %s of quiet, then %s at rest with nobody asking the agents anything (CPU time from /proc/PID/stat, whose 10 ms ticks make the mean over the agents the precise figure; RSS and RssAnon from /proc/PID/status, median over the agents); one more agent (until it sees all and all see it); then `kill -9` of an agent other than the first, until every survivor holds it dead. Figures are the median of the runs with the lowest and highest in brackets; the ratio is farmhand's median over Serf's.\n\n",
		r.Plan.Repeats, pollEvery, r.Plan.Settle, r.Plan.Rest)
	fmt.Fprintf(b, "**Honest.** A size counts only if every run of both implementations converged (cold start, late joiner, crash) and the benchmark's own 10 ms timer was late by less than %s (p99) during the rest windows: past that the figures measure a saturated machine, not the agents. Sizes past %v are probed in order and the probe stops at the first size that is not honest.\n\n",
		honestLateness, r.Plan.Sizes)
	for _, im := range r.Impls {
		fmt.Fprintf(b, "- **%s**: %s.\n", im.Name, im.Describe)
	}
	b.WriteString("\n")

	sizes := r.sizes()
	fmt.Fprintf(b, "| N | honest |\n|---|---|\n")
	for _, n := range sizes {
		ok, why := r.honestAt(n)
		txt := "yes"
		if !ok {
			txt = "**no**: " + why
		}
		fmt.Fprintf(b, "| %d | %s |\n", n, txt)
	}
	b.WriteString("\n")

	for _, m := range metrics {
		fmt.Fprintf(b, "### %s\n\n", m.title)
		fmt.Fprintf(b, "| N | farmhand | Serf | farmhand / Serf | target |\n|---|---|---|---|---|\n")
		for _, n := range sizes {
			fv, ff := r.values(m, "farmhand", n)
			sv, sf := r.values(m, "serf", n)
			ratio, verdict := "–", ""
			if len(fv) > 0 && len(sv) > 0 && median(sv) > 0 {
				q := median(fv) / median(sv)
				ratio = fmt.Sprintf("%.2fx", q)
				if m.goal > 0 {
					verdict = " (met)"
					if q > m.goal {
						verdict = " (**missed**)"
					}
				}
			}
			target := m.target
			if target == "" {
				target = "–"
			} else {
				target += verdict
			}
			fmt.Fprintf(b, "| %d | %s | %s | %s | %s |\n", n, spread(fv, ff, m.format), spread(sv, sf, m.format), ratio, target)
		}
		b.WriteString("\n")
	}

	fmt.Fprintf(b, "### Views at the end of the rest window\n\nMembers not alive (suspect, dead or missing) summed over every agent's view, per run: any figure but 0 is a false suspicion or a false death in a cluster where nothing failed.\n\n")
	fmt.Fprintf(b, "| N | farmhand | Serf |\n|---|---|---|\n")
	for _, n := range sizes {
		fmt.Fprintf(b, "| %d | %s | %s |\n", n, r.notAliveRow("farmhand", n), r.notAliveRow("serf", n))
	}
	b.WriteString("\n")
	if len(r.Loss) > 0 {
		r.renderLoss(b)
	}
	fmt.Fprintf(b, "<details><summary>Every run</summary>\n\n| impl | N | # | launch | cold | CPU ms/s mean (median) | RSS | anon | late (sees / seen) | crash | lateness p99 | note |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, run := range r.Runs {
		note := run.dishonest()
		fmt.Fprintf(b, "| %s | %d | %d | %.1f s | %.2f s | %.2f (%.2f) | %.1f | %.1f | %.2f / %.2f s | %.2f s | %s | %s |\n",
			run.Impl, run.N, run.Repeat, secs(run.Launch), secs(run.Cold), run.CPUMean, run.CPU, run.RSS, run.Anon,
			secs(run.LateSees), secs(run.LateSeen), secs(run.Crash), run.Lateness.Round(time.Millisecond), note)
	}
	b.WriteString("\n</details>\n\n")
}

func (r *report) notAliveRow(impl string, n int) string {
	var parts []string
	for _, run := range r.Runs {
		if run.Impl == impl && run.N == n && run.RestViews > 0 {
			parts = append(parts, fmt.Sprint(run.NotAlive))
		}
	}
	if len(parts) == 0 {
		return "–"
	}
	return strings.Join(parts, ", ")
}

// spread is "median (min–max)", with the failed runs counted.
func spread(vals []float64, failed int, f func(float64) string) string {
	if len(vals) == 0 {
		if failed > 0 {
			return fmt.Sprintf("**did not converge** (%d runs)", failed)
		}
		return "–"
	}
	s := f(median(vals))
	if len(vals) > 1 {
		s += fmt.Sprintf(" (%s–%s)", strings.Fields(f(slices.Min(vals)))[0], strings.Fields(f(slices.Max(vals)))[0])
	}
	if failed > 0 {
		s += fmt.Sprintf(", **%d of %d runs did not converge**", failed, failed+len(vals))
	}
	return s
}
