package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	mode := flag.String("mode", "quick", "quick (N=100, 200; a few minutes), full (up to the largest honest N) or scale (the time-dilated part alone)")
	out := flag.String("out", "BENCHMARKS.md", "where to write the report")
	impls := flag.String("impl", "all", "implementations to run, comma-separated: "+strings.Join(available(), ", "))
	sizes := flag.String("n", "", "override the mode's cluster sizes, comma-separated (e.g. 50,100)")
	seed := flag.Uint64("seed", 1, "seed for the network's loss and the harness's choices")
	scenarios := flag.String("scenarios", "all", "scenarios to run, comma-separated: "+strings.Join(scenarioNames, ",")+" (the cold start always runs)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	dilate := flag.String("dilate", "1", "time-dilation factor k for the mode's sizes: every timer k times longer, every measured duration divided by k")
	scale := flag.Bool("scale", false, "add the time-dilated part (validation at N=200, then N=500, 1000, 2000; mode scale runs it alone)")
	scaleSizes := flag.String("scale-n", "", "override the dilated part's sizes, comma-separated, or none")
	scaleK := flag.String("scale-k", "", "override the dilation factors tried at each dilated size, ascending, comma-separated (e.g. 2,4,8,16)")
	validateSizes := flag.String("validate-n", "", "override the sizes run at k=1 and k=4 to validate dilation, comma-separated, or none")
	extra := flag.String("extra", "", "reports of other runs of this harness (e.g. -mode scale -out .bench/scale.md), comma-separated, appended under their own heading with their own machine and method")
	real := flag.String("real", "", "the real-process sections written by testbed/procbench (markdown, comma-separated), put first in the report: real processes are the reference")
	hooks := flag.Bool("hooks", true, "run the mode's process-level rows (real agent processes; quick and full modes)")
	flag.Parse()

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}

	benchMode = *mode
	p, err := planFor(*mode)
	if err != nil {
		return err
	}
	if *sizes != "" {
		if p.Sizes, err = parseSizes("-n", *sizes); err != nil {
			return err
		}
	}
	if p.Dilation, err = parseDilation(*dilate); err != nil {
		return fmt.Errorf("-dilate: %w", err)
	}
	if p, err = p.withScale(*scale, *scaleSizes, *scaleK, *validateSizes); err != nil {
		return err
	}
	if p, err = p.only(*scenarios); err != nil {
		return err
	}
	names, err := selectImpls(*impls)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
	rep := &report{Plan: p, Started: time.Now(), Seed: *seed, Args: os.Args[1:], idle: runtime.NumGoroutine()}
	if *real != "" {
		// Read first: a missing section fails now, not after the runs.
		for _, f := range strings.Split(*real, ",") {
			sec, err := os.ReadFile(f)
			if err != nil {
				return fmt.Errorf("-real: %w (make bench writes it with testbed/procbench first)", err)
			}
			rep.Real += strings.TrimRight(string(sec), "\n") + "\n\n"
		}
	}
	if *extra != "" {
		for _, f := range strings.Split(*extra, ",") {
			sec, err := os.ReadFile(f)
			if err != nil {
				return fmt.Errorf("-extra: %w", err)
			}
			rep.Extra = append(rep.Extra, string(sec))
		}
	}
	for _, name := range names {
		for _, n := range p.Sizes {
			if ctx.Err() != nil {
				break
			}
			r, ok := rep.runImpl(ctx, name, p, n, p.Dilation, *seed, logf)
			if !ok {
				break
			}
			rep.Runs = append(rep.Runs, r)
			if p.Probe && !r.honest() {
				logf("%s: N=%d is past what this machine can host honestly; stopping here", name, n)
				break
			}
		}
	}
	if p.Scale != nil {
		rep.runScale(ctx, *p.Scale, names, *seed, logf)
	}
	if p.Hooks && *hooks {
		rep.runHooks(ctx)
	}
	rep.Finished = time.Now()
	// An interrupted run still writes what it measured, and says so: the
	// dilated sizes take hours, and their first figures are worth keeping.
	rep.Interrupted = ctx.Err() != nil
	if err := os.WriteFile(*out, []byte(rep.markdown()), 0o644); err != nil {
		return fmt.Errorf("writing the report: %w; check -out %s", err, *out)
	}
	if rep.Interrupted {
		return fmt.Errorf("interrupted; the report in %s holds only what was measured before", *out)
	}
	logf("wrote %s", *out)
	return nil
}

// runImpl builds implementation name dilated by k, runs it at n and closes
// it; ok is false (and the report says why) when it cannot be built.
func (r *report) runImpl(ctx context.Context, name string, p plan, n int, k dilation, seed uint64, logf func(string, ...any)) (runResult, bool) {
	r.drain(ctx, logf)
	im, err := implMakers[name](ctx, k)
	if err != nil {
		logf("%s: cannot run: %v", name, err)
		r.Skipped = append(r.Skipped, fmt.Sprintf("%s: %v", name, err))
		return runResult{}, false
	}
	r.describe(im)
	res := runOne(ctx, p, im, n, seed, logf)
	if err := im.Close(); err != nil {
		logf("%s: close: %v", name, err)
	}
	logf("%s N=%d (%s): done in %s; %d goroutines remain", name, n, k, res.Wall.Round(time.Second), runtime.NumGoroutine())
	return res, true
}

// drain waits, at most two minutes, until the goroutines of earlier runs
// have ended: memberlist's probe and stream goroutines outlive Shutdown by
// up to their own (dilated) timeouts, and what they hold would count in
// the next run's heap baseline and come off its per-member figure.
func (r *report) drain(ctx context.Context, logf func(string, ...any)) {
	const slack = 8 // the S3 client's idle connections and the like
	if !waitFor(ctx, 2*time.Minute, func() bool { return runtime.NumGoroutine() <= r.idle+slack }) {
		logf("%d goroutines of earlier runs still running; the next heap figure may be off", runtime.NumGoroutine()-r.idle)
	}
}

// parseSizes parses flag's value "100,200" into ascending sizes of at
// least 4.
func parseSizes(flag, s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 4 {
			return nil, fmt.Errorf("%s %q: each size must be an integer of at least 4", flag, s)
		}
		if len(out) > 0 && n <= out[len(out)-1] {
			return nil, fmt.Errorf("%s %q: sizes must be ascending", flag, s)
		}
		out = append(out, n)
	}
	return out, nil
}
