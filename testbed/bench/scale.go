package main

import (
	"context"
	"time"
)

// runScale runs the time-dilated part of a mode (scalePlan): the
// validation sizes in real time and dilated, then each large size at the
// smallest factor whose run the discard rule keeps.
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

// runLarge runs one implementation's large sizes. Each size tries the
// factors from the one the previous size needed upwards; a size that no
// factor passes ends the sizes (a larger one would need more).
func (r *report) runLarge(ctx context.Context, s scalePlan, name string, seed uint64, logf func(string, ...any)) {
	from := 0
	for _, n := range s.Large.Sizes {
		kept := false
		for i := from; i < len(s.Factors) && !kept; i++ {
			if ctx.Err() != nil {
				return
			}
			res, ok := r.runImpl(ctx, name, s.Large, n, s.Factors[i], seed, logf)
			if !ok {
				return
			}
			if kept = res.kept(); kept {
				r.Large = append(r.Large, res)
				from = i
			} else {
				r.Tries = append(r.Tries, res)
				logf("%s N=%d: %s is too small for this machine (discarded after %s); trying a larger k", name, n, res.K, res.Wall.Round(time.Second))
			}
		}
		if !kept {
			logf("%s N=%d: no factor up to %s keeps the run; stopping this implementation's large sizes", name, n, s.Factors[len(s.Factors)-1])
			return
		}
	}
}

// kept reports whether the discard rule keeps a run where the dilation
// search judges it: its cold start and its rest window. (Late joins and
// crashes of a kept run are judged one by one, as in every run.)
func (r runResult) kept() bool {
	return !r.Cold.Discarded && !r.Rest.Discarded
}
