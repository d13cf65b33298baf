package main

import (
	"context"
	"time"

	"github.com/farmhand/farmhand/testbed/memnet"
	"github.com/farmhand/farmhand/testbed/s3emu"
)

// node is one cluster member under test, whichever implementation runs it.
type node interface {
	// Name is the member name.
	Name() string
	// Addr is the member's "ip:port" on the in-memory network.
	Addr() string
	// Boot joins the cluster the way this implementation does at startup
	// (static seeds for stock, the S3 registry for farmhand).
	Boot(ctx context.Context) error
	// Join contacts addrs and returns how many answered.
	Join(ctx context.Context, addrs []string) (int, error)
	// Leave announces a graceful departure, waiting at most timeout.
	Leave(timeout time.Duration) error
	// Shutdown stops the member without a goodbye.
	Shutdown() error
}

// impl builds nodes of one implementation; one impl value serves one
// cluster run.
type impl interface {
	// Name is the label used in the report ("farmhand", "stock").
	Name() string
	// Describe says in one line which configuration runs.
	Describe() string
	// ProbeTimeout is the configured probe timeout in protocol time (before
	// dilation); runs whose scheduler latency p99 exceeds a quarter of it,
	// dilated, are discarded.
	ProbeTimeout() time.Duration
	// Timers are the memberlist timers in protocol time, for the
	// extrapolation formulas.
	Timers() timers
	// Dilation is the factor k the members' timers run at.
	Dilation() dilation
	// NewNode creates member name on tr, reporting its view changes to
	// rec, with every timer dilated by Dilation. seeds are the addresses a
	// stock node joins at Boot.
	NewNode(name string, tr *memnet.Transport, rec *recorder, seeds []string) (node, error)
	// S3 returns the embedded S3 that counts the registry traffic, or nil if the
	// implementation uses no registry.
	S3() *s3emu.Server
	// Close releases what the impl holds for the run (the embedded S3).
	Close() error
}

// timers are the memberlist settings the extrapolation formulas use.
type timers struct {
	ProbeInterval, ProbeTimeout, GossipInterval, PushPullInterval       time.Duration
	SuspicionMult, SuspicionMaxTimeoutMult, GossipNodes, RetransmitMult int
}

// harnessCost is implemented by nodes whose harness plumbing holds memory
// or can lose events; the report subtracts and reports them.
type harnessCost interface {
	// harnessBytes is heap held by the harness for this member.
	harnessBytes() int64
	// eventsDropped counts view events the recorder never saw.
	eventsDropped() uint64
}

// viewDescriber is implemented by nodes that can say what their own view
// holds, to explain a cold start that did not converge.
type viewDescriber interface {
	describeView() string
}
