package main

import (
	"context"
	"errors"
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
	mode := flag.String("mode", "quick", "quick (N=100, 200; a few minutes) or full (up to the largest honest N)")
	out := flag.String("out", "BENCHMARKS.md", "where to write the report")
	impls := flag.String("impl", "all", "implementations to run, comma-separated: "+strings.Join(available(), ", "))
	sizes := flag.String("n", "", "override the mode's cluster sizes, comma-separated (e.g. 50,100)")
	seed := flag.Uint64("seed", 1, "seed for the network's loss and the harness's choices")
	scenarios := flag.String("scenarios", "all", "scenarios to run, comma-separated: "+strings.Join(scenarioNames, ",")+" (the cold start always runs)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
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
		if p.Sizes, err = parseSizes(*sizes); err != nil {
			return err
		}
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
	rep := &report{Plan: p, Started: time.Now(), Seed: *seed}
	for _, name := range names {
		for _, n := range p.Sizes {
			if ctx.Err() != nil {
				break
			}
			im, err := implMakers[name](ctx)
			if err != nil {
				logf("%s: cannot run: %v", name, err)
				rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s: %v", name, err))
				break
			}
			rep.describe(im)
			r := runOne(ctx, p, im, n, *seed, logf)
			if err := im.Close(); err != nil {
				logf("%s: close: %v", name, err)
			}
			rep.Runs = append(rep.Runs, r)
			logf("%s N=%d: done; %d goroutines remain", name, n, runtime.NumGoroutine())
			if p.Probe && !r.honest() {
				logf("%s: N=%d is past what this machine can host honestly; stopping here", name, n)
				break
			}
		}
	}
	rep.runHooks(ctx)
	rep.Finished = time.Now()
	if ctx.Err() != nil {
		return errors.New("interrupted; no report written")
	}
	if err := os.WriteFile(*out, []byte(rep.markdown()), 0o644); err != nil {
		return fmt.Errorf("writing the report: %w; check -out %s", err, *out)
	}
	logf("wrote %s", *out)
	return nil
}

// parseSizes parses "100,200" into ascending sizes of at least 4.
func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 4 {
			return nil, fmt.Errorf("-n %q: each size must be an integer of at least 4", s)
		}
		if len(out) > 0 && n <= out[len(out)-1] {
			return nil, fmt.Errorf("-n %q: sizes must be ascending", s)
		}
		out = append(out, n)
	}
	return out, nil
}
