package main

import (
	"math"
	"time"
)

// This file holds the closed-form models used to extrapolate from the sizes
// the harness can host to 1,000 and 10,000 members. They follow memberlist's
// own formulas (util.go: suspicionTimeout, pushPullScale) and the standard
// push-gossip bound; each is calibrated against a measured size and labelled
// as a model in the report.

// suspicionMin is memberlist's minimum suspicion timeout at n members:
// SuspicionMult * max(1, log10(n)) * ProbeInterval.
func suspicionMin(t timers, n int) time.Duration {
	scale := math.Max(1, math.Log10(math.Max(1, float64(n))))
	return time.Duration(float64(t.SuspicionMult) * scale * float64(t.ProbeInterval))
}

// suspicionMax is SuspicionMaxTimeoutMult times the minimum: the timeout of
// a suspicion nobody confirms.
func suspicionMax(t timers, n int) time.Duration {
	return time.Duration(t.SuspicionMaxTimeoutMult) * suspicionMin(t, n)
}

// suspicionFires returns when a suspicion timer fires if independent
// confirmations arrive one per probe interval: memberlist shrinks the
// timeout from max towards min as log(c+1)/log(k+1) of the k =
// SuspicionMult-2 expected confirmations arrive.
func suspicionFires(t timers, n int) time.Duration {
	lo, hi := suspicionMin(t, n).Seconds(), suspicionMax(t, n).Seconds()
	k := t.SuspicionMult - 2
	pi := t.ProbeInterval.Seconds()
	if k < 1 || n-2 < k {
		return suspicionMax(t, n)
	}
	for tau := 0.0; ; tau += pi / 20 {
		c := math.Min(float64(k), math.Floor(tau/pi))
		timeout := hi - (hi-lo)*math.Log(c+1)/math.Log(float64(k)+1)
		if tau >= math.Max(lo, timeout) {
			return time.Duration(tau * float64(time.Second))
		}
	}
}

// gossipRounds is the push-gossip bound for one message to reach all n
// members with fanout f per round: log_{f+1}(n) rounds of growth plus
// ln(n)/f rounds to reach the last few.
func gossipRounds(n, f int) float64 {
	if n < 2 {
		return 0
	}
	return math.Log(float64(n))/math.Log(float64(f)+1) + math.Log(float64(n))/float64(f)
}

// gossipTime is gossipRounds times the gossip interval.
func gossipTime(t timers, n int) time.Duration {
	return time.Duration(gossipRounds(n, t.GossipNodes) * float64(t.GossipInterval))
}

// detectModel is the time until 99% hold a crashed member dead: half a
// probe interval until its first probe, one probe interval of direct,
// indirect and TCP probes, the suspicion timer, then gossip of the verdict.
func detectModel(t timers, n int) time.Duration {
	return t.ProbeInterval/2 + t.ProbeInterval + suspicionFires(t, n) + gossipTime(t, n)
}

// joinSeenModel is the time until all members see a joiner: the join's
// push/pull, then gossip of its alive message.
func joinSeenModel(t timers, n int) time.Duration {
	return gossipTime(t, n)
}

// pushPullScale is memberlist's push/pull interval multiplier: 1 up to 32
// members, then ceil(log2(n) - log2(32)) + 1.
func pushPullScale(n int) float64 {
	if n <= 32 {
		return 1
	}
	return math.Ceil(math.Log2(float64(n))-math.Log2(32)) + 1
}

// linearFit fits y = a + b*x by least squares; it needs two distinct x.
func linearFit(xs, ys []float64) (a, b float64, ok bool) {
	if len(xs) < 2 {
		return 0, 0, false
	}
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
		sxx += xs[i] * xs[i]
		sxy += xs[i] * ys[i]
	}
	n := float64(len(xs))
	den := n*sxx - sx*sx
	if den == 0 {
		return 0, 0, false
	}
	b = (n*sxy - sx*sy) / den
	a = (sy - b*sx) / n
	return a, b, true
}

// S3 list prices per 1,000 requests (us-east-1 standard): PUT, COPY, POST
// and LIST at $0.005; GET and all other reads at $0.0004; DELETE is free.
const (
	pricePutList = 0.005 / 1000
	priceGet     = 0.0004 / 1000
	hoursPerMon  = 730
)

// dollars prices a set of requests.
func dollars(put, list, get float64) float64 {
	return (put+list)*pricePutList + get*priceGet
}
