package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "procbench:", err)
		os.Exit(1)
	}
}

// plan is what one mode runs.
type plan struct {
	Name string
	// Sizes always run; Probe sizes run in order while every run of the
	// previous size was honest (see honest).
	Sizes, Probe []int
	// Repeats of each size, the implementations alternating (A B A B).
	Repeats int
	// Settle is the wait after a cold start before the rest window.
	Settle, Rest time.Duration
	// Timeouts of the cold start, the late join and the crash detection.
	ColdTimeout, JoinTimeout, DetectTimeout time.Duration
	// Loss are the packet loss percentages of the loss runs, each LossWindow
	// long on LossNodes agents in network namespaces.
	Loss       []int
	LossWindow time.Duration
	LossNodes  int
}

var plans = map[string]plan{
	"quick": {
		Name: "quick", Sizes: []int{20, 50}, Repeats: 2,
		Settle: 10 * time.Second, Rest: 20 * time.Second,
		ColdTimeout: 120 * time.Second, JoinTimeout: 60 * time.Second, DetectTimeout: 60 * time.Second,
		Loss: []int{5}, LossWindow: time.Minute, LossNodes: 20,
	},
	"full": {
		Name: "full", Sizes: []int{20, 50, 100}, Probe: []int{150, 200}, Repeats: 3,
		Settle: 15 * time.Second, Rest: 30 * time.Second,
		ColdTimeout: 180 * time.Second, JoinTimeout: 90 * time.Second, DetectTimeout: 90 * time.Second,
		Loss: []int{1, 5, 10}, LossWindow: 5 * time.Minute, LossNodes: 20,
	},
}

func run() error {
	mode := flag.String("mode", "quick", "quick (N=20, 50, 5% loss for a minute; about 15 minutes) or full (N=20, 50, 100 and the largest honest N, loss at 1, 5 and 10% for 5 minutes each; about 2 hours)")
	out := flag.String("out", ".bench/procbench.md", "where to write the report section (markdown); the raw results go next to it as .json")
	fh := flag.String("farmhand", "bin/farmhand", "the farmhand binary")
	serf := flag.String("serf", ".tools/bin/serf", "the Serf v0.10.2 binary (make tools installs it)")
	sizes := flag.String("n", "", "override the mode's sizes, comma-separated (no probing)")
	repeats := flag.Int("repeats", 0, "override the mode's repeats")
	only := flag.String("only", "", "run only the sizes (\"sizes\") or only the loss runs (\"loss\")")
	lossWindow := flag.Duration("loss-window", 0, "override the mode's loss window")
	lossLevels := flag.String("loss", "", "override the mode's loss percentages, comma-separated")
	flag.Parse()

	p, ok := plans[*mode]
	if !ok {
		return fmt.Errorf("-mode %q: want quick or full", *mode)
	}
	if *sizes != "" {
		ns, err := parseInts(*sizes)
		if err != nil {
			return fmt.Errorf("-n: %w", err)
		}
		p.Sizes, p.Probe = ns, nil
	}
	if *repeats > 0 {
		p.Repeats = *repeats
	}
	if *lossWindow > 0 {
		p.LossWindow = *lossWindow
	}
	if *lossLevels != "" {
		p.Loss = nil
		for _, f := range strings.Split(*lossLevels, ",") {
			pct, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || pct < 1 || pct > 100 {
				return fmt.Errorf("-loss %q: want percentages from 1 to 100, comma-separated", *lossLevels)
			}
			p.Loss = append(p.Loss, pct)
		}
	}
	switch *only {
	case "":
	case "sizes":
		p.Loss = nil
	case "loss":
		p.Sizes, p.Probe = nil, nil
	default:
		return fmt.Errorf("-only %q: want sizes or loss", *only)
	}
	for _, b := range []*string{fh, serf} {
		abs, err := filepath.Abs(*b)
		if err != nil {
			return err
		}
		if _, err := os.Stat(abs); err != nil {
			return fmt.Errorf("%s: %w (build farmhand with `make build`; `make tools` installs Serf)", abs, err)
		}
		*b = abs
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	impls := []impl{
		farmhandImpl{bin: *fh},
		serfImpl{bin: *serf, hosts: newHostPlan},
	}
	rep := &report{Plan: p, Started: time.Now(), Machine: machine()}
	for _, im := range impls {
		rep.Impls = append(rep.Impls, implInfo{Name: im.name(), Describe: im.describe()})
	}
	for i, n := range append(append([]int(nil), p.Sizes...), p.Probe...) {
		if ctx.Err() != nil {
			break
		}
		probed := i >= len(p.Sizes)
		logf("N=%d: %d repeats, %s", n, p.Repeats, strings.Join(implNames(impls), " and "))
		honest := true
		for r := range p.Repeats {
			order := impls
			if r%2 == 1 {
				order = []impl{impls[1], impls[0]}
			}
			for _, im := range order {
				res := measureSize(ctx, im, n, r, p)
				logf("  %s", res.summary())
				rep.Runs = append(rep.Runs, res)
				if res.dishonest() != "" {
					honest = false
				}
			}
		}
		if probed && !honest {
			rep.StoppedAt = n
			logf("N=%d was not hosted honestly; larger sizes are not tried", n)
			break
		}
	}
	if len(p.Loss) > 0 && ctx.Err() == nil {
		rep.Loss = runLoss(ctx, impls, p)
	}
	rep.Finished = time.Now()
	if err := rep.write(*out); err != nil {
		return err
	}
	raw, _ := json.MarshalIndent(rep, "", "  ")
	if err := os.WriteFile(strings.TrimSuffix(*out, filepath.Ext(*out))+".json", raw, 0o644); err != nil {
		return err
	}
	logf("wrote %s", *out)
	return ctx.Err()
}

func implNames(impls []impl) []string {
	out := make([]string, len(impls))
	for i, im := range impls {
		out[i] = im.name()
	}
	return out
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 {
			return nil, errors.New("want sizes of 2 or more, comma-separated")
		}
		out = append(out, n)
	}
	return out, nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
