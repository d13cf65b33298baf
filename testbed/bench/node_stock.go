package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"time"

	"github.com/farmhand/farmhand/testbed/memnet"
	"github.com/farmhand/farmhand/testbed/s3emu"
	"github.com/hashicorp/memberlist"
)

// stockImpl runs raw memberlist with memberlist.DefaultLANConfig(), joined
// through a static seed list: the baseline farmhand must beat. k dilates
// its timers.
type stockImpl struct{ k dilation }

func (stockImpl) Name() string { return "stock" }

func (stockImpl) Describe() string {
	return "hashicorp/memberlist v0.7.0, DefaultLANConfig(), static seed list (first 3 nodes)"
}

func (stockImpl) ProbeTimeout() time.Duration { return memberlist.DefaultLANConfig().ProbeTimeout }

func (stockImpl) Timers() timers { return timersOf(memberlist.DefaultLANConfig()) }

func (s stockImpl) Dilation() dilation { return s.k }

func (stockImpl) S3() *s3emu.Server { return nil }

func (stockImpl) Close() error { return nil }

// timersOf extracts the formula inputs from a memberlist config.
func timersOf(c *memberlist.Config) timers {
	return timers{
		ProbeInterval: c.ProbeInterval, ProbeTimeout: c.ProbeTimeout,
		GossipInterval: c.GossipInterval, PushPullInterval: c.PushPullInterval,
		SuspicionMult: c.SuspicionMult, SuspicionMaxTimeoutMult: c.SuspicionMaxTimeoutMult,
		GossipNodes: c.GossipNodes, RetransmitMult: c.RetransmitMult,
	}
}

func (s stockImpl) NewNode(name string, tr *memnet.Transport, rec *recorder, seeds []string) (node, error) {
	cfg := memberlist.DefaultLANConfig()
	dilateMemberlist(cfg, s.k)
	cfg.Name = name
	cfg.Transport = tr
	cfg.Logger = log.New(io.Discard, "", 0)
	cfg.Events = &stockEvents{observer: name, rec: rec}
	m, err := memberlist.Create(cfg)
	if err != nil {
		return nil, err
	}
	return &stockNode{m: m, addr: tr.Addr(), seeds: seeds}, nil
}

// stockNode is one raw memberlist instance.
type stockNode struct {
	m     *memberlist.Memberlist
	addr  string
	seeds []string
}

func (s *stockNode) Name() string { return s.m.LocalNode().Name }
func (s *stockNode) Addr() string { return s.addr }

// Boot joins the static seeds, as a classic configuration file would.
func (s *stockNode) Boot(ctx context.Context) error {
	if len(s.seeds) == 0 {
		return nil
	}
	_, err := s.Join(ctx, s.seeds)
	return err
}

// Join calls memberlist's Join, which tries addrs one after another.
func (s *stockNode) Join(_ context.Context, addrs []string) (int, error) {
	return s.m.Join(addrs)
}

func (s *stockNode) Leave(timeout time.Duration) error { return s.m.Leave(timeout) }
func (s *stockNode) Shutdown() error                   { return s.m.Shutdown() }

// stockEvents forwards memberlist's join/leave notifications to the
// recorder. memberlist does not report suspicion to delegates.
type stockEvents struct {
	observer string
	rec      *recorder
}

func (e *stockEvents) NotifyJoin(n *memberlist.Node) {
	e.rec.observe(e.observer, n.Name, stAlive, time.Now())
}

func (e *stockEvents) NotifyLeave(n *memberlist.Node) {
	st := stDead
	if n.State == memberlist.StateLeft {
		st = stLeft
	}
	e.rec.observe(e.observer, n.Name, st, time.Now())
}

func (e *stockEvents) NotifyUpdate(*memberlist.Node) {}

// describeView summarizes what memberlist holds, for diagnostics.
func (s *stockNode) describeView() string {
	return fmt.Sprintf("memberlist knows %d live members", s.m.NumMembers())
}
