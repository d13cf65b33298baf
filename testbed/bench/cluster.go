package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/farmhand/farmhand/testbed/memnet"
)

// seedCount is how many of the first nodes serve as stock's static seeds;
// they are never crashed, so the seed list stays valid.
const seedCount = 3

// cluster is one implementation's members on one in-memory network.
type cluster struct {
	impl impl
	// k is the implementation's time dilation: the harness waits k times
	// longer and divides what it measures by k.
	k   dilation
	net *memnet.Network
	rec *recorder
	rng *rand.Rand
	// baseHeap is the live heap before the cluster started, so per-member
	// heap figures leave out what earlier runs still hold.
	baseHeap int64

	mu    sync.Mutex
	nodes map[string]node // live members by name
	order []string        // live member names, oldest first
	next  int             // index of the next member's name and address
	seeds []string        // addresses of the first seedCount members
}

// newCluster returns an empty cluster whose network and choices are seeded.
func newCluster(im impl, seed uint64) *cluster {
	cfg := memnet.DefaultConfig()
	cfg.Seed = seed
	return &cluster{
		baseHeap: int64(heapInUse()),
		impl:     im,
		k:        im.Dilation(),
		net:      memnet.NewNetwork(cfg),
		rec:      newRecorder(),
		rng:      rand.New(rand.NewPCG(seed, seed+1)),
		nodes:    map[string]node{},
	}
}

// nodeName is the i-th member's name, shaped like an EC2 instance id.
func nodeName(i int) string { return fmt.Sprintf("i-0b%015x", i) }

// slot is a reserved member: its index, name and address.
type slot struct {
	i          int
	name, addr string
}

// reserve returns the next member's slot without starting it, so a
// scenario can announce who is expected.
func (c *cluster) reserve() slot {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := c.next
	c.next++
	addr := memnet.Addr(i)
	if len(c.seeds) < seedCount {
		c.seeds = append(c.seeds, addr)
	}
	return slot{i: i, name: nodeName(i), addr: addr}
}

// start creates the reserved member (its process starting) and returns
// it; Boot is left to the caller. Its static seeds are the seed members
// reserved before it, so the first member starts alone.
func (c *cluster) start(s slot) (node, error) {
	name, addr := s.name, s.addr
	tr, err := c.net.NewTransport(addr)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	seeds := append([]string(nil), c.seeds[:min(s.i, len(c.seeds))]...)
	c.mu.Unlock()
	nd, err := c.impl.NewNode(name, tr, c.rec, seeds)
	if err != nil {
		_ = tr.Shutdown()
		return nil, fmt.Errorf("start %s (%s): %w", name, c.impl.Name(), err)
	}
	c.mu.Lock()
	c.nodes[name] = nd
	c.order = append(c.order, name)
	c.mu.Unlock()
	return nd, nil
}

// live returns the names of the live members, oldest first.
func (c *cluster) live() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.order...)
}

// size is the number of live members.
func (c *cluster) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.order)
}

// crash cuts a member off the network as a power loss would and stops its
// memberlist; it returns the crash time.
func (c *cluster) crash(name string) (time.Time, error) {
	c.mu.Lock()
	nd, ok := c.nodes[name]
	c.mu.Unlock()
	if !ok {
		return time.Time{}, fmt.Errorf("crash: no live member %s", name)
	}
	c.rec.markFailed(name)
	at := time.Now()
	if err := c.net.Crash(nd.Addr()); err != nil {
		return at, err
	}
	c.forget(name)
	return at, nd.Shutdown()
}

// forget removes name from the live members.
func (c *cluster) forget(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.nodes, name)
	for i, n := range c.order {
		if n == name {
			c.order = append(c.order[:i], c.order[i+1:]...)
			break
		}
	}
}

// pickVictim returns a random live member that is not a seed.
func (c *cluster) pickVictim() (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var cands []string
	for _, n := range c.order {
		seed := false
		for _, s := range c.seeds {
			if c.nodes[n].Addr() == s {
				seed = true
			}
		}
		if !seed {
			cands = append(cands, n)
		}
	}
	if len(cands) == 0 {
		return "", false
	}
	return cands[c.rng.IntN(len(cands))], true
}

// addrOf returns a live member's address.
func (c *cluster) addrOf(name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if nd, ok := c.nodes[name]; ok {
		return nd.Addr()
	}
	return ""
}

// harness sums the harness's per-member heap and missed events over the
// live members.
func (c *cluster) harness() (bytes int64, dropped uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, nd := range c.nodes {
		if h, ok := nd.(harnessCost); ok {
			bytes += h.harnessBytes()
			dropped += h.eventsDropped()
		}
	}
	return bytes, dropped
}

// close stops every member, the network and the implementation's helpers.
func (c *cluster) close() {
	c.mu.Lock()
	nodes := make([]node, 0, len(c.nodes))
	for _, nd := range c.nodes {
		nodes = append(nodes, nd)
	}
	c.nodes = map[string]node{}
	c.order = nil
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, nd := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = nd.Shutdown()
		}()
	}
	wg.Wait()
	_ = c.net.Shutdown()
}

// waitFor polls cond every 50 ms until it holds, timeout passes or ctx
// ends; it reports whether cond held.
func waitFor(ctx context.Context, timeout time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if cond() {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-deadline.C:
			return cond()
		case <-tick.C:
		}
	}
}

// pause waits d or until ctx ends, reporting whether it waited fully.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// describe returns a live member's own account of its view, if it has one.
func (c *cluster) describe(name string) string {
	c.mu.Lock()
	nd, ok := c.nodes[name]
	c.mu.Unlock()
	if d, ok2 := nd.(viewDescriber); ok && ok2 {
		return " (" + d.describeView() + ")"
	}
	return ""
}
