package main

import (
	"math"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

func TestMemberlistFormulas(t *testing.T) {
	stock := timersOf(memberlist.DefaultLANConfig())
	// memberlist: SuspicionMult 4 * log10(1000) * 1 s = 12 s; six times that
	// without confirmations; small clusters are floored at log10 = 1.
	if got := suspicionMin(stock, 1000); got != 12*time.Second {
		t.Errorf("suspicionMin(1000) = %s, want 12s", got)
	}
	if got := suspicionMax(stock, 1000); got != 72*time.Second {
		t.Errorf("suspicionMax(1000) = %s, want 72s", got)
	}
	if got := suspicionMin(stock, 5); got != 4*time.Second {
		t.Errorf("suspicionMin(5) = %s, want 4s", got)
	}
	for _, n := range []int{10, 100, 1000, 10000} {
		f := suspicionFires(stock, n)
		if f < suspicionMin(stock, n) || f > suspicionMax(stock, n) {
			t.Errorf("suspicionFires(%d) = %s outside [min, max]", n, f)
		}
	}
	for n, want := range map[int]float64{32: 1, 33: 2, 64: 2, 1000: 6} {
		if got := pushPullScale(n); got != want {
			t.Errorf("pushPullScale(%d) = %v, want %v", n, got, want)
		}
	}
	if gossipRounds(1000, 3) <= gossipRounds(100, 3) || gossipRounds(1000, 3) >= gossipRounds(1000, 1) {
		t.Error("gossipRounds must grow with N and shrink with fanout")
	}
	a, b, ok := linearFit([]float64{1, 2, 3}, []float64{5, 7, 9})
	if !ok || math.Abs(a-3) > 1e-9 || math.Abs(b-2) > 1e-9 {
		t.Errorf("linearFit = %v + %v x (%v), want 3 + 2x", a, b, ok)
	}
	if _, _, ok := linearFit([]float64{1}, []float64{1}); ok {
		t.Error("linearFit accepted a single point")
	}
	// $0.005 per 1,000 PUT/LIST, $0.0004 per 1,000 GET.
	if got := dollars(1000, 1000, 1000); math.Abs(got-0.0104) > 1e-12 {
		t.Errorf("dollars = %v, want 0.0104", got)
	}
}

func TestSampleQuantiles(t *testing.T) {
	s := sample{10, 1, 9, 2, 8, 3, 7, 4, 6, 5}
	if s.q(0.5) != 5 || s.q(0.99) != 10 || s.q(0) != 1 {
		t.Fatalf("q(0.5), q(0.99), q(0) = %v %v %v; want 5 10 1", s.q(0.5), s.q(0.99), s.q(0))
	}
	if !math.IsNaN(sample(nil).median()) {
		t.Fatal("median of nothing is not NaN")
	}
	if got := quantile([]float64{0, 1, 2, math.Inf(1)}, []uint64{98, 1, 1}, 0.99); got != 2*time.Second {
		t.Fatalf("histogram p99 = %s, want the 1-2 s bucket's upper bound", got)
	}
}
