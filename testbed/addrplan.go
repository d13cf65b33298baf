package testbed

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/farmhand/farmhand/testbed/ec2emu"
)

// The address plan. Each testbed holds a number K (by a lock file, see
// claimSubnet) and with it a /23 of its own, so concurrent testbeds never
// collide: in 198.19.0.0/16 in netns mode (half of the range RFC 2544
// reserves for benchmarking, so nothing here can meet a real network; K
// up to 127) and in 127.20.0.0/15 on loopback (K up to 250). Both stay
// clear of the plan before the emulator owned the addresses (127.18.K.x,
// 198.18.K.x, same lock files), so a testbed of an older checkout on the
// same machine never collides with this one. The EC2 emulator's three subnets, one per
// zone, are the first three /25s of that /23, and the emulator's address
// pools are the only source of instance addresses: it hands them out,
// takes a terminated instance's back and hands it out again, as EC2 does.
// In netns mode the host end of the bridge, where the emulators listen,
// is the first subnet's .1: the address EC2 reserves for the VPC router.
const (
	planBits   = 23
	subnetBits = 25
	// planSubnets is how many subnets of the /23 the emulator gets.
	planSubnets = 3
	// subnetSize is how many instances one subnet holds (EC2 reserves five
	// addresses in each).
	subnetSize = 1<<(32-subnetBits) - 5
	// MaxInstances is how many instances can hold an address at once.
	MaxInstances = planSubnets * subnetSize
)

// planMaxK is the highest K the plan has a block for.
func planMaxK(netns bool) int {
	if netns {
		return 127 // 198.19.0.0/16 holds 128 /23s; the first is left out
	}
	return 250
}

// planBlock is testbed K's /23.
func planBlock(k int, netns bool) netip.Prefix {
	base := netip.MustParseAddr("127.20.0.0")
	if netns {
		base = netip.MustParseAddr("198.19.0.0")
	}
	b := base.As4()
	n := binary.BigEndian.Uint32(b[:]) + uint32(k)<<(32-planBits)
	binary.BigEndian.PutUint32(b[:], n)
	return netip.PrefixFrom(netip.AddrFrom4(b), planBits)
}

// planHost is the host's address in block (its .1).
func planHost(block netip.Prefix) string { return block.Addr().Next().String() }

// planEC2Subnets are the emulator's subnets in block: the ids and zones of
// ec2emu.DefaultConfig, each with a /25 of the block.
func planEC2Subnets(block netip.Prefix) []ec2emu.Subnet {
	subnets := ec2emu.DefaultConfig().Subnets[:planSubnets]
	b := block.Addr().As4()
	base := binary.BigEndian.Uint32(b[:])
	for i := range subnets {
		binary.BigEndian.PutUint32(b[:], base+uint32(i)<<(32-subnetBits))
		subnets[i].CIDR = fmt.Sprintf("%s/%d", netip.AddrFrom4(b), subnetBits)
	}
	return subnets
}
