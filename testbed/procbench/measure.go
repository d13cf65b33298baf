package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"
)

// runResult is one implementation's cycle at one size: a cold start, a
// rest window, a late joiner and a crash.
type runResult struct {
	Impl   string `json:"impl"`
	N      int    `json:"n"`
	Repeat int    `json:"repeat"`
	Err    string `json:"error,omitempty"`

	// Launch is how long starting the N processes took (the testbed's
	// RunInstances and boot, or Serf's exec), before Cold starts.
	Launch time.Duration `json:"launch"`
	// Cold is from every process running to every agent having seen N
	// alive; ColdMissing names the agents that never did.
	Cold        time.Duration `json:"cold"`
	ColdMissing []string      `json:"cold_missing,omitempty"`

	// At rest: CPU per agent per second (median over agents, and the
	// mean), RSS and anonymous memory (median), and the members not alive
	// in any view at the end of the window (false suspicions and deaths).
	CPU       float64 `json:"cpu_ms_per_s"`
	CPUMean   float64 `json:"cpu_mean_ms_per_s"`
	RSS       float64 `json:"rss_mb"`
	Anon      float64 `json:"anon_mb"`
	NotAlive  int     `json:"not_alive_at_rest"`
	RestViews int     `json:"rest_views"`
	// Lateness is the harness's own timer lateness (p99) during the rest
	// window: how overloaded the machine was.
	Lateness time.Duration `json:"lateness_p99"`

	// Late joiner: until it sees all, until all see it, and the larger.
	LateSees, LateSeen, Late time.Duration
	LateOK                   bool `json:"late_ok"`
	// Crash: from SIGKILL until every survivor holds the victim dead.
	Crash   time.Duration `json:"crash"`
	CrashOK bool          `json:"crash_ok"`
}

// honestLateness is the harness timer lateness (p99) past which a rest
// window measured a saturated machine rather than the agents.
const honestLateness = 50 * time.Millisecond

// dishonest says why this run does not measure the implementation but the
// machine, or "" if it does.
func (r runResult) dishonest() string {
	switch {
	case r.Err != "":
		return r.Err
	case len(r.ColdMissing) > 0:
		return fmt.Sprintf("cold start did not converge (%d agents short)", len(r.ColdMissing))
	case r.Lateness > honestLateness:
		return fmt.Sprintf("harness timers %s late (p99) at rest", r.Lateness.Round(time.Millisecond))
	case !r.LateOK:
		return "late joiner did not converge"
	case !r.CrashOK:
		return "crash not detected by every survivor"
	}
	return ""
}

func (r runResult) summary() string {
	if r.Err != "" {
		return fmt.Sprintf("%s N=%d #%d: %s", r.Impl, r.N, r.Repeat, r.Err)
	}
	s := fmt.Sprintf("%s N=%d #%d: cold %s, rest %.2f ms/s, rss %.1f MB anon %.1f MB, not alive %d, late %s, crash %s, lateness %s",
		r.Impl, r.N, r.Repeat, r.Cold.Round(10*time.Millisecond), r.CPUMean, r.RSS, r.Anon, r.NotAlive,
		r.Late.Round(10*time.Millisecond), r.Crash.Round(10*time.Millisecond), r.Lateness.Round(time.Millisecond))
	if why := r.dishonest(); why != "" {
		s += " [" + why + "]"
	}
	return s
}

// measureSize runs one cycle of im at size n.
func measureSize(ctx context.Context, im impl, n, rep int, p plan) (res runResult) {
	res = runResult{Impl: im.name(), N: n, Repeat: rep}
	begin := time.Now()
	f, err := im.start(ctx, n, startOpts{})
	if err != nil {
		res.Err = err.Error()
		return res
	}
	defer func() {
		if err := f.close(); err != nil {
			logf("  %s: teardown: %v", im.name(), err)
		}
	}()
	res.Launch = time.Since(begin)

	// Cold start.
	agents := f.agents()
	if len(agents) != n {
		res.Err = fmt.Sprintf("%d of %d agent processes running after the launch", len(agents), n)
		return res
	}
	res.Cold, res.ColdMissing = untilEach(ctx, agents, p.ColdTimeout, func(_ agent, v map[string]string) bool {
		return countStatus(v, statusAlive) >= n
	})
	if len(res.ColdMissing) > 0 {
		return res
	}

	// At rest: nothing asks the agents anything during the window.
	sleep(ctx, p.Settle)
	agents = f.agents()
	before := procStats(agents)
	lm := startLateness()
	sleep(ctx, p.Rest)
	res.Lateness = lm.stop()
	after := procStats(agents)
	res.CPU, res.CPUMean, res.RSS, res.Anon = restFigures(agents, before, after, p.Rest)
	res.NotAlive, res.RestViews = notAlive(ctx, agents, n)

	// Late joiner.
	joiner, err := f.launch(ctx)
	if err != nil {
		res.Err = "late joiner: " + err.Error()
		return res
	}
	var wg sync.WaitGroup
	var seesMissing, seenMissing []string
	wg.Add(2)
	go func() {
		defer wg.Done()
		res.LateSees, seesMissing = untilEach(ctx, []agent{joiner}, p.JoinTimeout, func(_ agent, v map[string]string) bool {
			return countStatus(v, statusAlive) >= n+1
		})
	}()
	go func() {
		defer wg.Done()
		res.LateSeen, seenMissing = untilEach(ctx, agents, p.JoinTimeout, func(_ agent, v map[string]string) bool {
			return v[joiner.name] == statusAlive
		})
	}()
	wg.Wait()
	res.Late = max(res.LateSees, res.LateSeen)
	res.LateOK = len(seesMissing) == 0 && len(seenMissing) == 0

	// Crash: kill -9 a member other than the first (Serf's seed).
	all := f.agents()
	victim := all[1+rand.IntN(len(all)-1)]
	survivors := slices.DeleteFunc(slices.Clone(all), func(a agent) bool { return a.name == victim.name })
	if err := f.kill(victim); err != nil {
		res.Err = "crash: " + err.Error()
		return res
	}
	var missing []string
	res.Crash, missing = untilEach(ctx, survivors, p.DetectTimeout, func(_ agent, v map[string]string) bool {
		return v[victim.name] == statusDead
	})
	res.CrashOK = len(missing) == 0
	return res
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// procStats reads every agent's process figures; a failed read is left
// out.
func procStats(agents []agent) map[int]procStat {
	out := make(map[int]procStat, len(agents))
	for _, a := range agents {
		if s, err := readProc(a.pid); err == nil {
			out[a.pid] = s
		}
	}
	return out
}

// restFigures returns the median and mean CPU per agent (ms per second)
// over window, and the median RSS and anonymous memory (MB) at its end.
func restFigures(agents []agent, before, after map[int]procStat, window time.Duration) (cpu, cpuMean, rss, anon float64) {
	var cpus, rsss, anons []float64
	for _, a := range agents {
		b, ok1 := before[a.pid]
		e, ok2 := after[a.pid]
		if !ok1 || !ok2 {
			continue
		}
		cpus = append(cpus, float64(e.cpu-b.cpu)/float64(time.Millisecond)/window.Seconds())
		rsss = append(rsss, float64(e.rss)/(1<<20))
		anons = append(anons, float64(e.anon)/(1<<20))
	}
	return median(cpus), mean(cpus), median(rsss), median(anons)
}

// notAlive asks every agent once and counts the members that are not
// alive in its view, plus the ones missing from it; views is how many
// agents answered.
func notAlive(ctx context.Context, agents []agent, n int) (bad, views int) {
	for _, a := range agents {
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		v, err := a.view(qctx)
		cancel()
		if err != nil {
			continue
		}
		views++
		bad += n - countStatus(v, statusAlive)
	}
	return bad, views
}

// lateness measures how late a 10 ms ticker in this process fires: the
// harness's own view of how busy the machine is.
type lateness struct {
	stopc chan struct{}
	done  chan []time.Duration
}

func startLateness() *lateness {
	l := &lateness{stopc: make(chan struct{}), done: make(chan []time.Duration, 1)}
	go func() {
		const every = 10 * time.Millisecond
		var lates []time.Duration
		t := time.NewTicker(every)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-l.stopc:
				l.done <- lates
				return
			case now := <-t.C:
				lates = append(lates, max(0, now.Sub(last)-every))
				last = now
			}
		}
	}()
	return l
}

// stop returns the 99th percentile lateness.
func (l *lateness) stop() time.Duration {
	close(l.stopc)
	lates := <-l.done
	if len(lates) == 0 {
		return 0
	}
	sort.Slice(lates, func(i, j int) bool { return lates[i] < lates[j] })
	return lates[len(lates)*99/100]
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	t := 0.0
	for _, x := range xs {
		t += x
	}
	return t / float64(len(xs))
}
