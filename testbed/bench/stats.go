package main

import (
	"fmt"
	"math"
	"slices"
)

// sample is a set of measurements of one quantity, in seconds or counts.
type sample []float64

// q returns quantile p (0..1) by the nearest-rank method; NaN when empty.
func (s sample) q(p float64) float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	c := slices.Clone(s)
	slices.Sort(c)
	rank := int(math.Ceil(p*float64(len(c)))) - 1
	return c[max(0, min(rank, len(c)-1))]
}

// median is q(0.5).
func (s sample) median() float64 { return s.q(0.5) }

// spread formats the range of s as "min–max".
func (s sample) spread(format func(float64) string) string {
	if len(s) == 0 {
		return "–"
	}
	return format(slices.Min(s)) + "–" + format(slices.Max(s))
}

// secs formats seconds.
func secs(v float64) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case v < 0.1:
		return fmt.Sprintf("%.0f ms", v*1000)
	case v < 10:
		return fmt.Sprintf("%.2f s", v)
	}
	return fmt.Sprintf("%.1f s", v)
}

// num formats a count or rate compactly.
func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case v == math.Trunc(v) && math.Abs(v) < 1e6:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

// ratio formats a/b as "0.52x", or "n/a".
func ratio(a, b float64) string {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", a/b)
}
