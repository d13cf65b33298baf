package membership

import (
	"context"
	"errors"
	"fmt"
	"log"
	"maps"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"
	"github.com/jonboulle/clockwork"
)

// ErrShutdown is returned by methods called after Shutdown.
var ErrShutdown = errors.New("membership: cluster is shut down")

// Cluster is this node's membership in a gossip cluster: a running
// memberlist plus the member view, event subscriptions and the loops that
// heal partitions. Create starts it; Leave and Shutdown stop it.
type Cluster struct {
	cfg     Config
	logger  hclog.Logger
	clock   clockwork.Clock
	ml      *memberlist.Memberlist
	mlConf  *memberlist.Config
	keyring *memberlist.Keyring // nil when gossip is not encrypted
	trans   *abortTransport
	view    *view
	hub     *hub
	meta    atomic.Pointer[[]byte] // what NodeMeta serves
	stats   counters

	// ctx is canceled by Shutdown; the loops and join attempts watch it.
	ctx    context.Context
	cancel context.CancelFunc
	// settleKick asks settleLoop for a sync series after a join; settling
	// is true while one runs.
	settleKick chan struct{}
	settling   atomic.Bool
	// ping checks that a member answers (pingMember; a seam for tests).
	ping func(Member) error

	// lifecycle serializes the calls that change this node's own state:
	// UpdateTags, SetKeys, Leave and Shutdown.
	lifecycle sync.Mutex

	// mu guards the fields below, and orders wg.Add against Shutdown's
	// wg.Wait.
	mu       sync.Mutex
	tags     map[string]string
	draining bool
	leaving  bool
	stopped  bool
	wg       sync.WaitGroup
}

// Create starts memberlist with cfg and the loops that maintain the view
// and heal partitions. It does not join anyone: call Join.
func Create(cfg *Config) (*Cluster, error) {
	if cfg == nil {
		return nil, errors.New("membership: Create needs a Config: start from DefaultLANConfig()")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Cluster{cfg: *cfg, clock: cfg.Clock, logger: cfg.Logger, hub: newHub(), settleKick: make(chan struct{}, 1)}
	if c.clock == nil {
		c.clock = clockwork.NewRealClock()
	}
	if c.logger == nil {
		c.logger = hclog.NewNullLogger()
	}
	c.cfg.Keys = cloneKeys(cfg.Keys)
	c.tags = maps.Clone(cfg.Tags)
	meta, err := encodeMeta(c.tags, 0)
	if err != nil {
		return nil, fmt.Errorf("membership: Config.Tags: %w", err)
	}
	c.meta.Store(&meta)

	mlc := *cfg.Memberlist
	c.mlConf = &mlc
	c.view = newView(cfg.Name, c.clock, c.logger, c.hub, cfg.ReapTime, suspicionBound(&mlc))
	c.ctx, c.cancel = context.WithCancel(context.Background())
	ml, err := c.createMemberlist(&mlc)
	if err != nil {
		c.cancel()
		return nil, fmt.Errorf("membership: start gossip on %s:%d: %w (is the port in use or the address not local?)", cfg.BindAddr, cfg.BindPort, err)
	}
	c.ml = ml
	c.ping = c.pingMember
	c.startLoops()
	return c, nil
}

// createMemberlist sets up the transport and starts memberlist.
func (c *Cluster) createMemberlist(mlc *memberlist.Config) (*memberlist.Memberlist, error) {
	if err := c.configureMemberlist(mlc); err != nil {
		return nil, err
	}
	trans, err := newTransport(c.ctx, &c.cfg, mlc.Logger)
	if err != nil {
		return nil, err
	}
	c.trans = trans
	mlc.Transport = trans
	if port := trans.boundPort(); port != 0 {
		mlc.BindPort = port
		if mlc.AdvertisePort == 0 {
			mlc.AdvertisePort = port
		}
	}
	ml, err := memberlist.Create(mlc)
	if err != nil {
		if trans.own != nil {
			_ = trans.own.Shutdown()
		}
		return nil, err
	}
	return ml, nil
}

// configureMemberlist fills the parts of memberlist's config that Config
// owns.
func (c *Cluster) configureMemberlist(mlc *memberlist.Config) error {
	cfg := &c.cfg
	mlc.Name = cfg.Name
	mlc.BindAddr = cfg.BindAddr
	mlc.BindPort = cfg.BindPort
	mlc.AdvertiseAddr = cfg.AdvertiseAddr
	mlc.AdvertisePort = cfg.AdvertisePort
	if cfg.AdvertiseAddr != "" && cfg.AdvertisePort == 0 {
		mlc.AdvertisePort = cfg.BindPort
	}
	mlc.Label = cfg.Cluster
	mlc.SkipInboundLabelCheck = false
	mlc.SecretKey = nil
	mlc.Keyring = nil
	if len(cfg.Keys) > 0 {
		kr, err := memberlist.NewKeyring(cfg.Keys, cfg.Keys[0])
		if err != nil {
			return fmt.Errorf("membership: Config.Keys: %w", err)
		}
		mlc.Keyring = kr
		c.keyring = kr
	}
	d := delegate{c: c}
	mlc.Delegate = d
	mlc.Events = d
	mlc.Ping = d
	mlc.LogOutput = nil
	tap := &logTap{
		next:      c.logger.StandardWriter(&hclog.StandardLoggerOptions{InferLevels: true}),
		onSuspect: c.view.suspect,
	}
	mlc.Logger = log.New(tap, "", 0)
	return nil
}

// suspicionBound returns the longest a memberlist suspicion can last in a
// cluster of n members (memberlist's SuspicionMaxTimeoutMult times its
// suspicion timeout), plus one probe interval of slack.
func suspicionBound(mlc *memberlist.Config) func(int) time.Duration {
	return func(n int) time.Duration {
		scale := math.Max(1, math.Log10(math.Max(1, float64(n))))
		base := time.Duration(float64(mlc.SuspicionMult) * scale * float64(mlc.ProbeInterval))
		mult := max(mlc.SuspicionMaxTimeoutMult, 1)
		return time.Duration(mult)*base + mlc.ProbeInterval
	}
}

// Members returns every member in the view, this node included, sorted by
// name. Dead and left members are included until they are reaped.
func (c *Cluster) Members() []Member { return c.view.snapshot() }

// LocalMember returns this node's own entry.
func (c *Cluster) LocalMember() Member {
	if m, ok := c.view.member(c.cfg.Name); ok {
		return m
	}
	n := c.ml.LocalNode()
	return Member{Name: n.Name, Addr: n.Addr.String(), Port: int(n.Port), Status: StatusAlive, Tags: c.Tags()}
}

// Tags returns this node's current tags.
func (c *Cluster) Tags() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.tags)
}

// NumAlive returns how many members, this node included, are alive or
// draining: in the cluster and answering.
func (c *Cluster) NumAlive() int {
	n := c.view.count()
	return n[StatusAlive] + n[StatusDraining]
}

// LastChange returns when the view last changed (a join, status change,
// tag update or reap); renderers and `farmhand wait -stable` use it.
func (c *Cluster) LastChange() time.Time { return c.view.changedAt() }

// Index returns the view's index: a number that grows by one with every
// change to the view (each Event carries the index after it). It starts at
// 1 and restarts with the agent. Blocking queries wait on it.
func (c *Cluster) Index() uint64 { return c.view.currentIndex() }

// WaitIndex blocks until the view's index differs from after, or ctx ends,
// and returns the index then. An after from an earlier run of the agent
// (ahead of the index) returns at once, so a watcher resynchronises.
func (c *Cluster) WaitIndex(ctx context.Context, after uint64) uint64 {
	return c.view.waitIndex(ctx, after)
}

// Subscribe returns a channel of view events with room for buf events, and
// a cancel function that closes it. Delivery never blocks gossip: events
// that do not fit are dropped and counted in Stats().EventsDropped, so a
// subscriber that falls behind should re-read Members(). Shutdown closes
// every subscription.
func (c *Cluster) Subscribe(buf int) (<-chan Event, func()) { return c.hub.subscribe(buf) }

// Memberlist returns the underlying memberlist, for metrics and health.
func (c *Cluster) Memberlist() *memberlist.Memberlist { return c.ml }

// UpdateTags replaces this node's tags and gossips them. It waits up to
// Config.BroadcastTimeout for the broadcast; on timeout the tags are
// already set locally and still spread.
func (c *Cluster) UpdateTags(tags map[string]string) error {
	c.lifecycle.Lock()
	defer c.lifecycle.Unlock()
	c.mu.Lock()
	stopped, leaving := c.stopped, c.leaving
	c.mu.Unlock()
	switch {
	case stopped:
		return fmt.Errorf("membership: UpdateTags: %w", ErrShutdown)
	case leaving:
		return errors.New("membership: UpdateTags after Leave: this node has left the cluster; restart the agent to rejoin")
	}
	c.mu.Lock()
	meta, err := encodeMeta(tags, c.flagsLocked())
	if err == nil {
		c.tags = maps.Clone(tags)
	}
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("membership: UpdateTags: %w", err)
	}
	c.meta.Store(&meta)
	if err := c.ml.UpdateNode(c.cfg.BroadcastTimeout); err != nil {
		return fmt.Errorf("membership: UpdateTags: tags set locally, but their broadcast was not confirmed within %s (Config.BroadcastTimeout); they still spread by gossip: %w", c.cfg.BroadcastTimeout, err)
	}
	return nil
}

// SetDraining marks this node as draining (going away soon, still serving)
// or clears the mark, and gossips it like a tag change: every member's view
// shows the node as draining until it leaves or dies. It waits up to
// Config.BroadcastTimeout for the broadcast, as UpdateTags does.
func (c *Cluster) SetDraining(draining bool) error {
	c.lifecycle.Lock()
	defer c.lifecycle.Unlock()
	c.mu.Lock()
	stopped, leaving := c.stopped, c.leaving
	if !stopped && !leaving {
		c.draining = draining
	}
	meta, err := encodeMeta(c.tags, c.flagsLocked())
	c.mu.Unlock()
	switch {
	case stopped:
		return fmt.Errorf("membership: SetDraining: %w", ErrShutdown)
	case leaving:
		return errors.New("membership: SetDraining after Leave: this node has already left")
	case err != nil:
		return fmt.Errorf("membership: SetDraining: %w", err)
	}
	c.meta.Store(&meta)
	c.view.setSelfDraining(draining)
	if err := c.ml.UpdateNode(c.cfg.BroadcastTimeout); err != nil {
		return fmt.Errorf("membership: SetDraining: set locally, but the broadcast was not confirmed within %s; it still spreads by gossip: %w", c.cfg.BroadcastTimeout, err)
	}
	return nil
}

// flagsLocked returns the meta flags this node gossips (besides leaving).
func (c *Cluster) flagsLocked() byte {
	if c.draining {
		return metaDraining
	}
	return 0
}

// Leave tells the cluster this node is leaving on purpose, so others show
// it as "left" rather than "dead", and stops the healing loops from
// rejoining. It waits at most timeout (a non-positive timeout means
// Config.BroadcastTimeout). Gossip keeps running until Shutdown. Calling
// it again is a no-op; after Shutdown it returns ErrShutdown.
func (c *Cluster) Leave(timeout time.Duration) error {
	c.lifecycle.Lock()
	defer c.lifecycle.Unlock()
	if timeout <= 0 {
		timeout = c.cfg.BroadcastTimeout
	}
	c.mu.Lock()
	stopped, leaving := c.stopped, c.leaving
	c.leaving = true
	tags, flags := c.tags, c.flagsLocked()
	c.mu.Unlock()
	switch {
	case stopped:
		return fmt.Errorf("membership: Leave: %w; the others will see this node as dead", ErrShutdown)
	case leaving:
		return nil
	}
	deadline := c.clock.Now().Add(timeout)

	// First gossip the leaving flag, so that the dead message memberlist
	// sends next is read as "left" (see metaLeaving).
	meta, err := encodeMeta(tags, flags|metaLeaving)
	if err != nil {
		return fmt.Errorf("membership: Leave: %w", err)
	}
	c.meta.Store(&meta)
	if err := c.ml.UpdateNode(timeout / 2); err != nil {
		c.logger.Warn("leave intent not confirmed; some members may show this node as dead instead of left", "error", err)
	}
	// memberlist waits forever on a zero timeout; keep it bounded.
	remaining := max(c.clock.Until(deadline), time.Millisecond)
	if err := c.ml.Leave(remaining); err != nil {
		return fmt.Errorf("membership: Leave: broadcast not confirmed within %s; the others will still see this node as dead or left: %w", timeout, err)
	}
	return nil
}

// Shutdown stops gossip and the healing loops, aborts join attempts still
// in flight, and closes every subscription. Without a prior Leave the others will see this node as
// dead. Calling it again is a no-op.
func (c *Cluster) Shutdown() error {
	c.lifecycle.Lock()
	defer c.lifecycle.Unlock()
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return nil
	}
	c.stopped = true
	c.mu.Unlock()
	c.cancel()
	c.trans.abort()
	err := c.ml.Shutdown()
	c.wg.Wait()
	c.hub.close()
	if err != nil {
		return fmt.Errorf("membership: shutdown: %w", err)
	}
	return nil
}

// goTracked runs f in a goroutine that Shutdown waits for. It returns false,
// without running f, once Shutdown has begun.
func (c *Cluster) goTracked(f func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
	return true
}

func (c *Cluster) isLeaving() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leaving || c.stopped
}
