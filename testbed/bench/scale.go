package main

import (
	"context"
	"time"
)

// runScale runs the time-dilated part of a mode (scalePlan): the
// validation sizes in real time and dilated, then the large sizes.
func (r *report) runScale(ctx context.Context, s scalePlan, names []string, seed uint64, logf func(string, ...any)) {
	v := s.Validate
	for _, n := range v.Sizes {
		for _, name := range names {
			for _, k := range []dilation{realTime, v.Dilation} {
				if ctx.Err() != nil {
					return
				}
				res, ok := r.runImpl(ctx, name, v, n, k, seed, logf)
				if !ok {
					break
				}
				r.Validation = append(r.Validation, res)
			}
		}
	}
	for _, name := range names {
		r.runLarge(ctx, s, name, seed, logf)
	}
}

// runLarge runs one implementation's large sizes: each at the smallest
// factor, from the one the previous size needed, whose run is honest;
// then, if that run's cold start was discarded, the cold start alone at
// the next factors until one keeps it. A size that no factor makes honest
// ends the sizes: a larger one would need more.
func (r *report) runLarge(ctx context.Context, s scalePlan, name string, seed uint64, logf func(string, ...any)) {
	from := 0
	for _, n := range s.Large.Sizes {
		i, ok := r.search(ctx, s.Large, s.Factors, from, name, n, seed, logf, runResult.kept, &r.Large)
		if !ok {
			if ctx.Err() == nil {
				logf("%s N=%d: no factor up to %s makes the run honest; stopping this implementation's large sizes", name, n, s.Factors[len(s.Factors)-1])
			}
			return
		}
		from = i
		if !r.Large[len(r.Large)-1].Cold.Discarded {
			continue
		}
		coldKept := func(res runResult) bool { return !res.Cold.Discarded }
		if _, ok := r.search(ctx, s.Large.coldOnly(), s.Factors, i+1, name, n, seed, logf, coldKept, &r.LargeCold); !ok {
			logf("%s N=%d: no factor up to %s keeps the cold start", name, n, s.Factors[len(s.Factors)-1])
		}
	}
}

// search runs impl name at n with p at factors[from:], in turn, until
// keep accepts a run, which it appends to into; the runs it rejects go to
// r.Tries. It returns the index of the factor that passed.
func (r *report) search(ctx context.Context, p plan, factors []dilation, from int, name string, n int, seed uint64,
	logf func(string, ...any), keep func(runResult) bool, into *[]runResult) (int, bool) {
	for i := from; i < len(factors); i++ {
		if ctx.Err() != nil {
			return 0, false
		}
		res, ok := r.runImpl(ctx, name, p, n, factors[i], seed, logf)
		if !ok || ctx.Err() != nil {
			// A run cut short by an interrupt is neither kept nor a try:
			// it says nothing about the factor.
			return 0, false
		}
		if keep(res) {
			*into = append(*into, res)
			return i, true
		}
		r.Tries = append(r.Tries, res)
		logf("%s N=%d: %s is too small for this machine (discarded after %s)", name, n, res.K, res.Wall.Round(time.Second))
	}
	return 0, false
}

// kept reports whether the dilation search keeps a run: honest (full
// views reached, by itself or repaired, and the rest window kept). Its
// cold start, late joins and crashes are then judged one by one, as in
// every run.
func (r runResult) kept() bool { return r.honest() }
