package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
	"unsafe"

	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/bootstrap/awscall"
	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed/memnet"
	"github.com/farmhand/farmhand/testbed/s3emu"
)

// benchCluster is the cluster name (memberlist label) of farmhand runs.
const benchCluster = "bench"

// benchAZ is the availability zone every benchmark member claims.
const benchAZ = "bench-1a"

// eventBuffer is the harness's subscription buffer per member: room for a
// cold start's burst of joins while the forwarder catches up.
const eventBuffer = 2048

func init() {
	implMakers["farmhand"] = newFarmhandImpl
}

// farmhandImpl runs farmhand's membership package with its LAN preset,
// booting through the S3 registry (bootstrap.Registry) against an embedded
// S3 that counts requests.
type farmhandImpl struct {
	s3  *s3emu.Server
	hc  *http.Client
	api bootstrap.S3API
	k   dilation
}

// newFarmhandImpl starts the embedded S3 for one cluster run whose timers
// are dilated by k.
func newFarmhandImpl(ctx context.Context, k dilation) (impl, error) {
	e, err := startS3()
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
	api, err := s3Client(ctx, e, hc)
	if err != nil {
		_ = e.Close()
		return nil, err
	}
	return &farmhandImpl{s3: e, hc: hc, api: api, k: k}, nil
}

func (*farmhandImpl) Name() string { return "farmhand" }

func (*farmhandImpl) Describe() string {
	return "farmhand membership package, DefaultLANConfig(), booting through the S3 registry (register, Candidates, Join) like the agent"
}

func (*farmhandImpl) ProbeTimeout() time.Duration {
	return membership.DefaultLANConfig().Memberlist.ProbeTimeout
}

func (*farmhandImpl) Timers() timers { return timersOf(membership.DefaultLANConfig().Memberlist) }

func (f *farmhandImpl) Dilation() dilation { return f.k }

func (f *farmhandImpl) S3() *s3emu.Server { return f.s3 }

func (f *farmhandImpl) Close() error {
	f.hc.CloseIdleConnections()
	return f.s3.Close()
}

func (f *farmhandImpl) NewNode(name string, tr *memnet.Transport, rec *recorder, _ []string) (node, error) {
	host, portStr, err := net.SplitHostPort(tr.Addr())
	if err != nil {
		return nil, err
	}
	port, _ := strconv.Atoi(portStr)
	rcfg := bootstrap.DefaultRegistryConfig()
	rcfg.Bucket = benchBucket
	rcfg.Cluster = benchCluster
	rcfg.Retry.Backoff = dilateBackoff(rcfg.Retry.Backoff, f.k)
	reg, err := bootstrap.NewRegistry(f.api, rcfg)
	if err != nil {
		return nil, err
	}
	n := &farmhandNode{
		addr: tr.Addr(),
		reg:  reg,
		id:   bootstrap.Identity{InstanceID: name, PrivateIP: host, AvailabilityZone: benchAZ},
		record: bootstrap.Record{
			Version: bootstrap.RecordVersion, Cluster: benchCluster, Name: name, Addr: host, Port: port,
			AZ: benchAZ, StartedAt: time.Now().UTC().Truncate(time.Second),
		},
		done: make(chan struct{}),
		boot: dilateBackoff(bootBackoff, f.k),
	}
	cfg := membership.DefaultLANConfig()
	dilateMembership(cfg, f.k)
	cfg.Name = name
	cfg.BindAddr = host
	cfg.BindPort = port
	cfg.Cluster = benchCluster
	cfg.Transport = tr
	cfg.Discover = n.discover
	n.fanout = cfg.JoinFanout
	c, err := membership.Create(cfg)
	if err != nil {
		return nil, err
	}
	n.c = c
	// Subscribe, then replay the view: the events before the subscription
	// (this member's own join) are in the snapshot.
	events, cancel := c.Subscribe(eventBuffer)
	n.cancel = cancel
	for _, m := range c.Members() {
		rec.observe(name, m.Name, stateOf(m.Status), m.Since)
	}
	go func() {
		defer close(n.done)
		for ev := range events {
			if ev.Type == membership.EventReap {
				continue
			}
			rec.observe(name, ev.Member.Name, stateOf(ev.Member.Status), ev.Member.Since)
		}
	}()
	return n, nil
}

// stateOf maps a membership status to the recorder's.
func stateOf(s membership.Status) state {
	switch s {
	case membership.StatusAlive:
		return stAlive
	case membership.StatusSuspect:
		return stSuspect
	case membership.StatusDead:
		return stDead
	case membership.StatusLeft:
		return stLeft
	}
	return stUnknown
}

// farmhandNode is one membership.Cluster plus its registry client.
type farmhandNode struct {
	c      *membership.Cluster
	addr   string
	reg    *bootstrap.Registry
	id     bootstrap.Identity
	record bootstrap.Record
	fanout int
	boot   awscall.Backoff // bootBackoff, dilated
	cancel func()
	done   chan struct{} // closed when the event forwarder ends
}

func (n *farmhandNode) Name() string { return n.id.InstanceID }
func (n *farmhandNode) Addr() string { return n.addr }

// Boot does what the agent's bootstrap does on a healthy S3: register
// once, read JoinFanout candidates, join them; when records exist but
// nobody answers, retry with full-jitter backoff.
// It mirrors agent.bootstrapLoop (the same registry calls, join and
// backoff) because the agent's loop needs a whole Agent; keep them in step.
// bootBackoff is the agent's boot pacing (agent/bootloop.go).
var bootBackoff = awscall.Backoff{Base: time.Second, Max: 30 * time.Second}

func (n *farmhandNode) Boot(ctx context.Context) error {
	if err := n.reg.Register(ctx, n.record); err != nil {
		return fmt.Errorf("register %s: %w", n.id.InstanceID, err)
	}
	for attempt := 0; attempt < 6; attempt++ {
		addrs, err := n.discover(ctx)
		if err != nil {
			return err
		}
		if len(addrs) == 0 {
			return nil // the first member
		}
		if k, _ := n.c.Join(ctx, addrs); k > 0 {
			return nil
		}
		if !pause(ctx, n.boot.Delay(attempt)) {
			return ctx.Err()
		}
	}
	return fmt.Errorf("boot %s: no registry candidate answered", n.id.InstanceID)
}

// discover returns JoinFanout registry candidates as "ip:port".
func (n *farmhandNode) discover(ctx context.Context) ([]string, error) {
	recs, err := n.reg.Candidates(ctx, n.id, n.fanout)
	if err != nil {
		return nil, err
	}
	return bootstrap.JoinAddrs(recs), nil
}

func (n *farmhandNode) Join(ctx context.Context, addrs []string) (int, error) {
	return n.c.Join(ctx, addrs)
}

func (n *farmhandNode) Leave(timeout time.Duration) error { return n.c.Leave(timeout) }

// harnessBytes is the heap the harness's event subscription holds for this
// member, left out of the per-member heap figure.
func (n *farmhandNode) harnessBytes() int64 {
	return eventBuffer * int64(unsafe.Sizeof(membership.Event{}))
}

// eventsDropped counts view events the harness missed for this member.
func (n *farmhandNode) eventsDropped() uint64 { return n.c.Stats().EventsDropped }

// Shutdown stops the member and waits for its event forwarder.
func (n *farmhandNode) Shutdown() error {
	err := n.c.Shutdown()
	n.cancel()
	<-n.done
	return err
}

// describeView summarizes what memberlist and the membership view hold,
// for diagnostics.
func (n *farmhandNode) describeView() string {
	st := n.c.Stats()
	return fmt.Sprintf("memberlist knows %d live members; view: %d alive, %d suspect, %d dead; %d events dropped",
		n.c.Memberlist().NumMembers(), st.Alive, st.Suspect, st.Dead, st.EventsDropped)
}
