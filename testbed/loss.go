package testbed

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
)

// Random packet loss (netns mode). Every packet an instance sends, UDP or
// TCP, to anyone, is dropped with probability P by an nftables rule in its
// namespace (numgen random), so each packet between two agents, either
// way, is lost with probability P. TCP is hit as hard as UDP, as on a real
// lossy network: memberlist's TCP fallback probe gets no free pass.

// lossTable is the nftables table the loss rule lives in, apart from the
// partition rules so that one never removes the other.
const lossTable = "farmhand_testbed_loss"

// setLoss makes ns drop percent% of its outgoing packets; 0 removes the
// rule.
func setLoss(ctx context.Context, ns string, percent int) error {
	if percent < 0 || percent > 100 {
		return fmt.Errorf("loss %d%%: want 0 to 100", percent)
	}
	_ = run(ctx, "ip", "netns", "exec", ns, "nft", "delete", "table", "inet", lossTable)
	if percent == 0 {
		return nil
	}
	rule := fmt.Sprintf("numgen random mod 100 < %d drop", percent)
	if percent == 100 {
		rule = "drop" // numgen's range ends at 99
	}
	script := fmt.Sprintf(`table inet %s {
	chain output { type filter hook output priority 0; oifname "lo" accept; %s; }
}
`, lossTable, rule)
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft in %s: %v: %s", ns, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// SetLoss drops percent% of every instance's outgoing packets (0 ends the
// loss). It needs a -netns testbed. Instances launched later start without
// loss: run it again after a launch.
func (tb *Testbed) SetLoss(ctx context.Context, percent int) error {
	if !tb.cfg.Netns {
		return fmt.Errorf("loss needs a testbed started with -netns (as root): loopback traffic cannot be dropped per instance")
	}
	if err := CanPartition(); err != nil {
		return err
	}
	nss := tb.namespaces()
	for _, ns := range nss {
		if err := setLoss(ctx, ns, percent); err != nil {
			return err
		}
	}
	tb.logger.Info("packet loss", "percent", percent, "instances", len(nss))
	return nil
}

// Lab is a set of network namespaces on a bridge of their own, laid out as
// a -netns testbed lays out its instances (a /23 of 198.19.0.0/16), for processes
// that are not farmhand agents: the benchmark runs Serf agents in one, so
// that both face the same network and the same loss rules.
type Lab struct {
	ops *netnsOps

	mu    sync.Mutex
	hosts []string // namespaces, in order
}

// NewLab claims a subnet and creates its bridge. It needs root.
func NewLab(ctx context.Context) (*Lab, error) {
	if err := CanPartition(); err != nil {
		return nil, err
	}
	ops, err := claimSubnet(true)
	if err != nil {
		return nil, err
	}
	if err := ops.setupBridge(ctx); err != nil {
		ops.release()
		return nil, err
	}
	return &Lab{ops: ops}, nil
}

// Host creates host i's namespace and returns its name and address, the
// (i+2)th of the lab's block (the first two are the network and the host).
func (l *Lab) Host(ctx context.Context, i int) (ns, ip string, err error) {
	a := l.ops.block.Addr().Next().Next()
	for range i {
		a = a.Next()
	}
	if !l.ops.block.Contains(a) {
		return "", "", fmt.Errorf("lab host %d: the lab's block %s is full", i, l.ops.block)
	}
	ns, ip = l.ops.nsName(i), a.String()
	if err := l.ops.addHost(ctx, ns, ip); err != nil {
		return "", "", err
	}
	l.mu.Lock()
	l.hosts = append(l.hosts, ns)
	l.mu.Unlock()
	return ns, ip, nil
}

// SetLoss drops percent% of every host's outgoing packets (0 ends it).
func (l *Lab) SetLoss(ctx context.Context, percent int) error {
	l.mu.Lock()
	hosts := append([]string(nil), l.hosts...)
	l.mu.Unlock()
	for _, ns := range hosts {
		if err := setLoss(ctx, ns, percent); err != nil {
			return err
		}
	}
	return nil
}

// Close removes the namespaces and the bridge and frees the subnet.
func (l *Lab) Close() error {
	ctx := context.Background()
	l.mu.Lock()
	hosts := l.hosts
	l.hosts = nil
	l.mu.Unlock()
	var first error
	for _, ns := range hosts {
		if err := delHost(ctx, ns); err != nil && first == nil {
			first = err
		}
	}
	if err := delBridge(ctx, l.ops.bridge); err != nil && first == nil {
		first = err
	}
	l.ops.release()
	return first
}
