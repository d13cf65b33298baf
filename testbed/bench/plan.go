package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// plan is what one benchmark mode runs.
type plan struct {
	// Name is "quick", "full" or "scale" (or a part of scale's).
	Name string
	// Sizes are the cluster sizes N, ascending. With Probe set, a run that
	// is not honest (run.go) skips its other scenarios, and the sizes past
	// it are skipped: the largest honest N. (The dilated part searches a
	// larger k instead; scalePlan.)
	Sizes []int
	Probe bool
	// Dilation is the time-dilation factor k the Sizes run at (-dilate;
	// dilate.go). Every duration below is protocol time whatever k is.
	Dilation dilation
	// Hooks runs the process-level rows (rows_process.go) after the sizes.
	Hooks bool
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
	// Scale is the part measured with time dilation, run after Sizes; nil
	// runs none.
	Scale *scalePlan
}

// scalePlan is the part of a mode that measures the sizes this machine
// cannot host at real speed, with time dilation (dilate.go): first a
// validation that dilation leaves the figures alone, then the large sizes.
type scalePlan struct {
	// Validate runs each of its Sizes twice, both implementations: in real
	// time and at its Dilation. The dilated figures should be within
	// Tolerance (relative) of the real ones.
	Validate  plan
	Tolerance float64
	// Large runs each of its Sizes at the smallest of Factors under which
	// the run is honest (its rest window kept: the discard rule), starting
	// from the factor the previous size needed; a size that no factor
	// passes ends the part for that implementation. The join storm needs
	// far more CPU per protocol second than the cluster at rest, so when
	// that run's cold start is discarded, the cold start alone runs again
	// at the next factors until one keeps it: every figure is measured at
	// the smallest k that keeps it.
	Large   plan
	Factors []dilation
}

// scaleDefault is the dilated part of -mode scale and of -scale: the
// validation at N=200 (k=1 against k=4) and N=500, 1,000, 2,000 at k from 2
// to 32. Its windows are short, and loss and stalls are left to the
// real-time sizes, to bound its wall time (most of it is the large sizes:
// every protocol second costs k wall seconds).
var scaleDefault = scalePlan{
	Validate: plan{
		Name: "validate", Sizes: []int{200}, Dilation: 4,
		Spread: 5 * time.Second, Settle: 3 * time.Second, Rest: 10 * time.Second,
		LateJoins: 8, Crashes: 6,
		ConvergeTimeout: 45 * time.Second, DetectTimeout: 60 * time.Second,
	},
	Tolerance: 0.15,
	Large: plan{
		Name: "large", Sizes: []int{500, 1000, 2000}, Probe: true,
		Spread: 10 * time.Second, Settle: 3 * time.Second, Rest: 5 * time.Second,
		LateJoins: 3, Crashes: 4,
		ConvergeTimeout: 60 * time.Second, DetectTimeout: 60 * time.Second,
	},
	Factors: []dilation{2, 4, 8, 16, 32},
}

// plans are the modes of -mode.
var plans = map[string]plan{
	"quick": {
		Name: "quick", Sizes: []int{100, 200}, Hooks: true,
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
		Name: "full", Sizes: []int{100, 200, 300, 500, 700, 1000}, Probe: true, Hooks: true,
		Spread: 10 * time.Second, Settle: 5 * time.Second, Rest: 20 * time.Second,
		LateJoins: 10, Crashes: 6,
		LossWindow: 60 * time.Second, StallWindow: 60 * time.Second, Loss: 0.05,
		Stalled: 3, StallFor: 2 * time.Second, StallEvery: 3 * time.Second,
		ConvergeTimeout: 180 * time.Second, DetectTimeout: 90 * time.Second,
	},
	// scale is the dilated part alone; -scale adds it to quick or full.
	"scale": {Name: "scale", Scale: &scaleDefault},
}

// planFor returns the named plan.
func planFor(mode string) (plan, error) {
	p, ok := plans[mode]
	if !ok {
		return plan{}, fmt.Errorf("unknown -mode %q: use quick, full or scale", mode)
	}
	return p, nil
}

// scenarioNames are the values of -scenarios; the cold start always runs.
var scenarioNames = []string{"cold", "rest", "late", "detect", "loss", "stall"}

// only keeps the named scenarios (comma-separated, or "all") by zeroing
// the others' repeats and windows, in p and in its dilated part.
func (p plan) only(list string) (plan, error) {
	if list == "" || list == "all" {
		return p, nil
	}
	if p.Scale != nil {
		s := *p.Scale
		var err error
		if s.Validate, err = s.Validate.only(list); err != nil {
			return p, err
		}
		if s.Large, err = s.Large.only(list); err != nil {
			return p, err
		}
		p.Scale = &s
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

// withScale applies the dilated part's flags: on adds scaleDefault when
// the mode has none; sizes, factors and validate override its sizes
// ("none" runs no size), its factors and its validation sizes.
func (p plan) withScale(on bool, sizes, factors, validate string) (plan, error) {
	if p.Scale == nil && (on || sizes != "" || factors != "" || validate != "") {
		s := scaleDefault
		p.Scale = &s
	}
	if p.Scale == nil {
		return p, nil
	}
	s := *p.Scale
	var err error
	if s.Large.Sizes, err = parseSizesOrNone("-scale-n", sizes, s.Large.Sizes); err != nil {
		return p, err
	}
	if s.Validate.Sizes, err = parseSizesOrNone("-validate-n", validate, s.Validate.Sizes); err != nil {
		return p, err
	}
	if factors != "" {
		s.Factors = nil
		for _, f := range strings.Split(factors, ",") {
			k, err := parseDilation(strings.TrimSpace(f))
			if err != nil {
				return p, fmt.Errorf("-scale-k: %w", err)
			}
			if len(s.Factors) > 0 && k <= s.Factors[len(s.Factors)-1] {
				return p, fmt.Errorf("-scale-k %q: factors must be ascending", factors)
			}
			s.Factors = append(s.Factors, k)
		}
	}
	p.Scale = &s
	return p, nil
}

// parseSizesOrNone is parseSizes for a flag that may also be "none" (no
// size) or empty (def).
func parseSizesOrNone(flag, s string, def []int) ([]int, error) {
	switch strings.TrimSpace(s) {
	case "":
		return def, nil
	case "none":
		return nil, nil
	}
	return parseSizes(flag, s)
}

// coldOnly returns p with every scenario but the cold start turned off.
func (p plan) coldOnly() plan {
	p.Rest, p.LateJoins, p.Crashes, p.LossWindow, p.StallWindow = 0, 0, 0, 0, 0
	return p
}

// onlyCold reports whether p measures nothing after the cold start.
func (p plan) onlyCold() bool {
	return p.Rest <= 0 && p.LateJoins <= 0 && p.Crashes <= 0 && p.LossWindow <= 0 && p.StallWindow <= 0
}
