package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// plan is what one benchmark mode runs.
type plan struct {
	// Name is "quick" or "full".
	Name string
	// Sizes are the cluster sizes N, ascending. With Probe set, sizes past
	// the first one whose runs were discarded or did not converge are
	// skipped: the largest honest N.
	Sizes []int
	Probe bool
	// Spread is the window over which a cold start launches the N members.
	Spread time.Duration
	// Settle is the quiet time after convergence before measuring at rest.
	Settle time.Duration
	// Rest is the at-rest measuring window (CPU, steady-state S3).
	Rest time.Duration
	// LateJoins and Crashes are the repeats of those scenarios.
	LateJoins, Crashes int
	// LossWindow and StallWindow are the false-positive runs' lengths.
	LossWindow, StallWindow time.Duration
	// Loss is the packet loss probability of the loss run.
	Loss float64
	// Stalled members are paused for StallFor every StallEvery.
	Stalled              int
	StallFor, StallEvery time.Duration
	// ConvergeTimeout bounds a cold start or a join; DetectTimeout a crash.
	ConvergeTimeout, DetectTimeout time.Duration
}

// plans are the modes of -mode.
var plans = map[string]plan{
	"quick": {
		Name: "quick", Sizes: []int{100, 200},
		Spread: 5 * time.Second, Settle: 3 * time.Second, Rest: 10 * time.Second,
		LateJoins: 5, Crashes: 3,
		LossWindow: 15 * time.Second, StallWindow: 15 * time.Second, Loss: 0.05,
		Stalled: 3, StallFor: 2 * time.Second, StallEvery: 3 * time.Second,
		ConvergeTimeout: 45 * time.Second, DetectTimeout: 60 * time.Second,
	},
	"full": {
		// About an hour on 2 cores: each size past 200 costs ~10 minutes
		// for the two implementations, and the probe stops at the first
		// size a run had to discard.
		Name: "full", Sizes: []int{100, 200, 300, 500, 700, 1000}, Probe: true,
		Spread: 10 * time.Second, Settle: 5 * time.Second, Rest: 20 * time.Second,
		LateJoins: 10, Crashes: 6,
		LossWindow: 60 * time.Second, StallWindow: 60 * time.Second, Loss: 0.05,
		Stalled: 3, StallFor: 2 * time.Second, StallEvery: 3 * time.Second,
		ConvergeTimeout: 180 * time.Second, DetectTimeout: 90 * time.Second,
	},
}

// planFor returns the named plan.
func planFor(mode string) (plan, error) {
	p, ok := plans[mode]
	if !ok {
		return plan{}, fmt.Errorf("unknown -mode %q: use quick or full", mode)
	}
	return p, nil
}

// scenarioNames are the values of -scenarios; the cold start always runs.
var scenarioNames = []string{"cold", "rest", "late", "detect", "loss", "stall"}

// only keeps the named scenarios (comma-separated, or "all") by zeroing
// the others' repeats and windows.
func (p plan) only(list string) (plan, error) {
	if list == "" || list == "all" {
		return p, nil
	}
	keep := map[string]bool{"cold": true}
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if !slices.Contains(scenarioNames, s) {
			return p, fmt.Errorf("unknown scenario %q in -scenarios: use %s", s, strings.Join(scenarioNames, ","))
		}
		keep[s] = true
	}
	if !keep["rest"] {
		p.Rest = 0
	}
	if !keep["late"] {
		p.LateJoins = 0
	}
	if !keep["detect"] {
		p.Crashes = 0
	}
	if !keep["loss"] {
		p.LossWindow = 0
	}
	if !keep["stall"] {
		p.StallWindow = 0
	}
	return p, nil
}
