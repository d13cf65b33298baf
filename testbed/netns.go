package testbed

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// Network namespaces (root only): each instance gets a namespace with one
// veth into a bridge on the host. Addresses follow the address plan
// (addrplan.go): the testbed's /23 of 198.19.0.0/16, whose three /25
// subnets all sit on the one bridge (EC2 routes between the subnets of a
// VPC); the host side of the bridge is the /23's .1 and the emulators
// listen there.

const (
	netnsPrefix  = "fh"
	bridgePrefix = "fhbr"
	bridgeCIDR   = "/23"       // planBits
	subnetLocks  = "/run/lock" // world-writable and sticky on Debian
	subnetLockFn = "farmhand-testbed-subnet-%d.lock"
)

// netnsOps shells out to iproute2 and nftables.
type netnsOps struct {
	subnet   int          // K, the testbed's number
	block    netip.Prefix // the testbed's /23 (planBlock)
	bridge   string       // bridge device name, fhbrK
	bridgeUp bool         // setupBridge created the bridge
	lock     *os.File     // holds K while the testbed runs
}

// hostIP is the host's address on the bridge.
func (n *netnsOps) hostIP() string { return planHost(n.block) }

// nsName is the namespace of instance i; it embeds K so testbeds never
// share namespace names.
func (n *netnsOps) nsName(i int) string { return fmt.Sprintf("%s%d-%d", netnsPrefix, n.subnet, i) }

// claimSubnet takes the first free K (1 to planMaxK) by flock on a lock
// file, and with it the /23 of the address plan (in 198.19.0.0/16 for
// netns, 127.20.0.0/15 on loopback). Every user's testbeds share the lock files
// (loopback addresses are shared too), so they are opened read-only: flock
// needs no write access, and a file another user created stays usable.
func claimSubnet(netns bool) (*netnsOps, error) {
	dir := subnetLocks
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		dir = os.TempDir()
	}
	for k := 1; k <= planMaxK(netns); k++ {
		path := filepath.Join(dir, fmt.Sprintf(subnetLockFn, k))
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o644)
		if err != nil {
			return nil, fmt.Errorf("testbed subnet lock %s: %w", path, err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			continue
		}
		return &netnsOps{subnet: k, block: planBlock(k, netns), bridge: fmt.Sprintf("%s%d", bridgePrefix, k), lock: f}, nil
	}
	return nil, fmt.Errorf("all %d testbed subnets are in use (lock files farmhand-testbed-subnet-*.lock in %s); stop some testbeds", planMaxK(netns), dir)
}

// release gives the subnet back.
func (n *netnsOps) release() {
	if n.lock != nil {
		n.lock.Close()
		n.lock = nil
	}
}

// CanUseNetns says whether this process can create network namespaces, and
// if not, why not (a one-line reason for users).
func CanUseNetns() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("network namespaces need root (run as root, or drop -netns to use 127.20.x.y addresses)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("network namespaces need the ip command: apt-get install iproute2")
	}
	return nil
}

// CanPartition says whether partition rules can be installed.
func CanPartition() error {
	if err := CanUseNetns(); err != nil {
		return err
	}
	if _, err := exec.LookPath("nft"); err != nil {
		return fmt.Errorf("partitions need nftables: apt-get install nftables")
	}
	return nil
}

func run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// setupBridge creates the bridge with the host address.
func (n *netnsOps) setupBridge(ctx context.Context) error {
	_ = run(ctx, "ip", "link", "del", n.bridge) // left over from a killed run
	steps := [][]string{
		{"link", "add", n.bridge, "type", "bridge"},
		{"addr", "add", n.hostIP() + bridgeCIDR, "dev", n.bridge},
		{"link", "set", n.bridge, "up"},
	}
	for _, s := range steps {
		if err := run(ctx, "ip", s...); err != nil {
			_ = run(context.Background(), "ip", "link", "del", n.bridge)
			return err
		}
	}
	n.bridgeUp = true
	return nil
}

// addHost creates namespace ns with address ip on the bridge.
func (n *netnsOps) addHost(ctx context.Context, ns, ip string) error {
	_ = delHost(ctx, ns) // left over from a killed run
	hostIf, nsIf := vethNames(ns)
	steps := [][]string{
		{"netns", "add", ns},
		{"link", "add", hostIf, "type", "veth", "peer", "name", nsIf},
		{"link", "set", nsIf, "netns", ns},
		{"link", "set", hostIf, "master", n.bridge},
		{"link", "set", hostIf, "up"},
		{"-n", ns, "addr", "add", ip + bridgeCIDR, "dev", nsIf},
		{"-n", ns, "link", "set", nsIf, "up"},
		{"-n", ns, "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if err := run(ctx, "ip", s...); err != nil {
			_ = delHost(context.Background(), ns) // its veth goes with it
			return err
		}
	}
	return nil
}

// vethNames returns the host and namespace ends of a namespace's veth pair
// (interface names are limited to 15 bytes).
func vethNames(ns string) (host, inNS string) {
	id := strings.TrimPrefix(ns, netnsPrefix) // "K-i": at most 7 bytes
	return "vh" + id, "vn" + id
}

// delHost removes a namespace and its veth. The host end goes first: that
// removes the pair at once, whereas a deleted namespace's interfaces go
// only when the kernel gets round to it, and a testbed that takes the same
// K right after would find its veth names taken.
func delHost(ctx context.Context, ns string) error {
	hostIf, _ := vethNames(ns)
	_ = run(ctx, "ip", "link", "del", hostIf) // gone already if the namespace went first
	return run(ctx, "ip", "netns", "del", ns)
}

// delBridge removes the bridge.
func delBridge(ctx context.Context, bridge string) error {
	return run(ctx, "ip", "link", "del", bridge)
}

// partitionTable is the nftables table the testbed owns in each namespace.
const partitionTable = "farmhand_testbed"

// blockPeers installs drop rules in ns for traffic to and from peers.
func blockPeers(ctx context.Context, ns string, peers []string) error {
	if len(peers) == 0 {
		return nil
	}
	for _, p := range peers {
		if net.ParseIP(p) == nil {
			return fmt.Errorf("partition: %q is not an IP address", p)
		}
	}
	set := strings.Join(peers, ", ")
	script := fmt.Sprintf(`table inet %[1]s {
	chain input { type filter hook input priority 0; ip saddr { %[2]s } drop; }
	chain output { type filter hook output priority 0; ip daddr { %[2]s } drop; }
}
`, partitionTable, set)
	_ = run(ctx, "ip", "netns", "exec", ns, "nft", "delete", "table", "inet", partitionTable)
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft in %s: %v: %s", ns, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// unblock removes the testbed's drop rules from ns (no error if none).
func unblock(ctx context.Context, ns string) {
	_ = run(ctx, "ip", "netns", "exec", ns, "nft", "delete", "table", "inet", partitionTable)
}
