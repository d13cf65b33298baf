package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"
)

// lossResult is one implementation under P% random loss for a window.
type lossResult struct {
	Impl    string        `json:"impl"`
	Percent int           `json:"percent"`
	Nodes   int           `json:"nodes"`
	Window  time.Duration `json:"window"`
	Err     string        `json:"error,omitempty"`
	// Suspicions is how many times a member's probe of another failed
	// outright (memberlist's "Suspect X has failed, no acks received",
	// logged by the prober), summed over the agents.
	Suspicions int `json:"suspicions"`
	// Verdicts is how many death verdicts were logged ("Marking X as
	// failed"), and Victims how many distinct members they were about:
	// nothing failed, so every one is false.
	Verdicts int `json:"verdicts"`
	Victims  int `json:"victims"`
	// Flaps is how many times an agent saw a member dead and then alive
	// again, from its view polled every second.
	Flaps int `json:"flaps"`
	// Launches is how many instances farmhand's coordinator launched.
	Launches int `json:"launches"`
}

var (
	suspectLine = regexp.MustCompile(`memberlist: Suspect (\S+) has failed, no acks received`)
	verdictLine = regexp.MustCompile(`memberlist: Marking (\S+) as failed, suspect timeout reached`)
)

// runLoss runs every loss level on every implementation, alternating.
func runLoss(ctx context.Context, impls []impl, p plan) []lossResult {
	var out []lossResult
	for i, pct := range p.Loss {
		order := impls
		if i%2 == 1 {
			order = []impl{impls[1], impls[0]}
		}
		for _, im := range order {
			if ctx.Err() != nil {
				return out
			}
			r := measureLoss(ctx, im, pct, p)
			logf("  loss %d%%: %s", pct, r.summary())
			out = append(out, r)
		}
	}
	return out
}

func (r lossResult) summary() string {
	if r.Err != "" {
		return fmt.Sprintf("%s: %s", r.Impl, r.Err)
	}
	return fmt.Sprintf("%s: %d suspicions, %d death verdicts on %d members, %d flaps, %d launches in %s",
		r.Impl, r.Suspicions, r.Verdicts, r.Victims, r.Flaps, r.Launches, r.Window)
}

func measureLoss(ctx context.Context, im impl, pct int, p plan) (res lossResult) {
	res = lossResult{Impl: im.name(), Percent: pct, Nodes: p.LossNodes, Window: p.LossWindow}
	f, err := im.start(ctx, p.LossNodes, startOpts{netns: true, coordinator: true})
	if err != nil {
		res.Err = err.Error()
		return res
	}
	defer func() {
		if err := f.close(); err != nil {
			logf("  %s: teardown: %v", im.name(), err)
		}
	}()
	agents := f.agents()
	if _, missing := untilEach(ctx, agents, p.ColdTimeout, func(_ agent, v map[string]string) bool {
		return countStatus(v, statusAlive) >= p.LossNodes
	}); len(missing) > 0 {
		res.Err = fmt.Sprintf("did not form before the loss (%d agents short)", len(missing))
		return res
	}
	sleep(ctx, p.Settle)
	offsets := logOffsets(f.logFiles())
	launchedBefore := f.launched()
	if err := f.setLoss(ctx, pct); err != nil {
		res.Err = err.Error()
		return res
	}
	res.Flaps = watchFlaps(ctx, agents, p.LossWindow)
	if err := f.setLoss(ctx, 0); err != nil {
		logf("  %s: ending the loss: %v", im.name(), err)
	}
	res.Launches = f.launched() - launchedBefore
	victims := map[string]bool{}
	for path, off := range offsets {
		scanFrom(path, off, func(line string) {
			if suspectLine.MatchString(line) {
				res.Suspicions++
			}
			if m := verdictLine.FindStringSubmatch(line); m != nil {
				res.Verdicts++
				victims[m[1]] = true
			}
		})
	}
	res.Victims = len(victims)
	return res
}

// watchFlaps polls every agent's view each second for d and counts, per
// agent and member, the returns from dead to alive.
func watchFlaps(ctx context.Context, agents []agent, d time.Duration) int {
	wasDead := map[[2]string]bool{}
	flaps := 0
	end := time.Now().Add(d)
	for time.Now().Before(end) && ctx.Err() == nil {
		for _, a := range agents {
			qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			v, err := a.view(qctx)
			cancel()
			if err != nil {
				continue
			}
			for m, st := range v {
				k := [2]string{a.name, m}
				switch st {
				case statusDead:
					wasDead[k] = true
				case statusAlive:
					if wasDead[k] {
						flaps++
						wasDead[k] = false
					}
				}
			}
		}
		sleep(ctx, time.Second)
	}
	return flaps
}

// logOffsets returns each log's current size, so that only what is logged
// later is counted.
func logOffsets(paths []string) map[string]int64 {
	out := map[string]int64{}
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			out[p] = fi.Size()
		}
	}
	return out
}

// scanFrom calls f for each line of path after offset.
func scanFrom(path string, offset int64, f func(string)) {
	fh, err := os.Open(path)
	if err != nil {
		return
	}
	defer fh.Close()
	if _, err := fh.Seek(offset, io.SeekStart); err != nil {
		return
	}
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f(sc.Text())
	}
}

func (r *report) renderLoss(b *strings.Builder) {
	fmt.Fprintf(b, "### Real packet loss, UDP and TCP\n\n")
	fmt.Fprintf(b, "Each agent runs in its own network namespace on a bridge (`testbed up -netns`; the Serf agents in a `testbed.Lab` laid out the same way). An nftables rule in every namespace drops each outgoing packet, UDP or TCP, with probability P (`numgen random mod 100 < P`), so every packet between two agents is lost with probability P, either way. farmhand runs with the coordinator on. After the cluster forms, the loss holds for %s; nothing fails, so every death verdict is false. Suspicions are memberlist's own log line for a probe that failed outright (\"Suspect X has failed, no acks received\", the same in both); flaps are the times an agent saw a member dead and then alive again (views polled every second).\n\n", r.Plan.LossWindow)
	fmt.Fprintf(b, "| loss | impl | agents | suspicions / hour | false death verdicts (members) | flaps | coordinator launches |\n|---|---|---|---|---|---|---|\n")
	for _, l := range r.Loss {
		if l.Err != "" {
			fmt.Fprintf(b, "| %d%% | %s | %d | %s | | | |\n", l.Percent, l.Impl, l.Nodes, l.Err)
			continue
		}
		launches := "–"
		if l.Impl == "farmhand" {
			launches = fmt.Sprint(l.Launches)
		}
		fmt.Fprintf(b, "| %d%% | %s | %d | %.0f | %d (%d) | %d | %s |\n", l.Percent, l.Impl, l.Nodes,
			float64(l.Suspicions)/l.Window.Hours(), l.Verdicts, l.Victims, l.Flaps, launches)
	}
	b.WriteString("\nTargets at 5%: 0 false death verdicts for farmhand, and fewer flaps than Serf.\n\n")
}
