package main

import (
	"time"

	"github.com/farmhand/farmhand/testbed/memnet"
)

// measured is the bookkeeping every measured run carries. Durations in
// results are protocol time (wall time divided by the run's dilation k);
// Win keeps the wall figures the discard rule judges.
type measured struct {
	// Win is the process CPU and scheduler latency over the run.
	Win windowStats
	// Discarded is set when scheduler latency p99 exceeded a quarter of
	// the (dilated) probe timeout: the harness, not the protocol, was the
	// bottleneck.
	Discarded bool
}

// judge measures the window and applies the discard rule.
func (m *measured) judge(w *window, limit time.Duration) {
	m.Win = w.stop()
	m.Discarded = m.Win.SchedP99 > limit
}

// coldResult is one cold start of N members.
type coldResult struct {
	measured
	Spread time.Duration
	// Timeout is how long after the spread the harness waited.
	Timeout time.Duration
	// Converged is set when every member had the full view; Converge is
	// the time from the last start until the last member got it.
	Converged bool
	Converge  time.Duration
	// Complete is how many members had the full view at the end; Views
	// describes the view sizes when not all had it (a split shows two).
	Complete   int
	Views      string
	BootErrors int
	S3         s3Counts
}

// restResult is the cluster at rest after convergence.
type restResult struct {
	measured
	// CPUms is process CPU per member per second of protocol time, in ms:
	// per wall second times k.
	CPUms float64
	// HeapKB is the growth of the live Go heap (after a GC) since before
	// the cluster started, per member, minus the harness's event buffers;
	// the recorder's views (N entries per member) remain.
	HeapKB float64
	// Settled is how long the cluster took to go quiet after the cold
	// start; Quiet is false when it never did (the window ran anyway).
	Settled time.Duration
	Quiet   bool
	// Members is N during the window.
	Members int
	S3      s3Counts
	Net     memnet.Counters
}

// lateResult is one late join into a converged cluster.
type lateResult struct {
	measured
	OK bool
	// Self is until the joiner saw every member; All until every member
	// saw the joiner.
	Self, All time.Duration
	S3        s3Counts
}

// detectResult is one crash.
type detectResult struct {
	measured
	OK bool
	// T99 is until 99% of the survivors held the victim dead; P50 the
	// median survivor's time.
	T99, P50 time.Duration
	Seen, Of int
}

// faultResult is one false-positive run: nobody fails, yet members may
// suspect or declare each other dead.
type faultResult struct {
	measured
	Ran      bool
	Window   time.Duration
	Grace    time.Duration
	Members  int
	Stalls   int
	Suspects int64
	// FalseDead counts dead verdicts about members that never failed.
	FalseDead int
}

// runResult is everything measured for one implementation at one N.
type runResult struct {
	Impl string
	N    int
	// K is the time dilation the run ran at; Wall is how long it took.
	K    dilation
	Wall time.Duration
	Err  string
	// Repaired is set when the cold start did not converge and the
	// harness joined every member to the oldest ones to measure the rest;
	// it is how long full views then took.
	Repaired time.Duration
	// EventsDropped counts view events the recorder missed (full
	// subscription buffers); nonzero makes the timings suspect.
	EventsDropped uint64
	// AfterBoot is the registry traffic from the end of the cold start to
	// the end of the run, late joiners' own boots left out: the steady
	// state including crashes, loss and stalls. AfterBootSpan is its span
	// in protocol time.
	AfterBoot     s3Counts
	AfterBootSpan time.Duration
	Cold          coldResult
	Rest          restResult
	Late          []lateResult
	Detect        []detectResult
	Loss          faultResult
	Stall         faultResult
}
