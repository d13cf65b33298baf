package testbed

import (
	"context"
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	"github.com/farmhand/farmhand/agent/client"
	"github.com/farmhand/farmhand/testbed/testutil"
)

func TestAddressPlan(t *testing.T) {
	for _, tc := range []struct {
		k               int
		netns           bool
		block, host     string
		first, last     string
		subnetsDisjoint bool
	}{
		{1, false, "127.20.2.0/23", "127.20.2.1", "127.20.2.0/25", "127.20.3.0/25", true},
		{250, false, "127.21.244.0/23", "127.21.244.1", "127.21.244.0/25", "127.21.245.0/25", true},
		{1, true, "198.19.2.0/23", "198.19.2.1", "198.19.2.0/25", "198.19.3.0/25", true},
		{127, true, "198.19.254.0/23", "198.19.254.1", "198.19.254.0/25", "198.19.255.0/25", true},
	} {
		block := planBlock(tc.k, tc.netns)
		if block.String() != tc.block || planHost(block) != tc.host {
			t.Errorf("K=%d netns=%v: block %s host %s, want %s %s", tc.k, tc.netns, block, planHost(block), tc.block, tc.host)
		}
		subnets := planEC2Subnets(block)
		if len(subnets) != 3 || subnets[0].CIDR != tc.first || subnets[2].CIDR != tc.last {
			t.Errorf("K=%d: subnets %+v, want %s ... %s", tc.k, subnets, tc.first, tc.last)
		}
		for _, sn := range subnets {
			p := netip.MustParsePrefix(sn.CIDR)
			if !block.Contains(p.Addr()) || sn.ID == "" || sn.AvailabilityZone == "" {
				t.Errorf("K=%d: subnet %+v is not a named subnet of %s", tc.k, sn, block)
			}
		}
	}
	// Every block is inside its range, clear of the old plan's 127.18.K.x
	// and 198.18.K.x.
	for netns, rng := range map[bool]string{false: "127.20.0.0/15", true: "198.19.0.0/16"} {
		for k := 1; k <= planMaxK(netns); k++ {
			if b := planBlock(k, netns); !netip.MustParsePrefix(rng).Contains(b.Addr()) || !netip.MustParsePrefix(rng).Contains(b.Addr().Next().Next()) {
				t.Errorf("K=%d netns=%v: block %s outside %s", k, netns, b, rng)
			}
		}
	}
	// The plan's subnets hold MaxInstances addresses.
	if MaxInstances != 369 {
		t.Errorf("MaxInstances = %d, want 3 x 123", MaxInstances)
	}
}

// The EC2 emulator's pool is where instances get their addresses: a
// terminated instance's address goes to the next instance launched in its
// subnet, whose agent then runs on it (in netns mode, in a new namespace:
// the terminated machine's is gone).
func TestTerminatedInstancesAddressServesTheNextOne(t *testing.T) {
	needE2E(t)
	t.Run("loopback", func(t *testing.T) { testAddressReuse(t, false) })
	t.Run("netns", func(t *testing.T) {
		testutil.NeedRoot(t, "network namespaces")
		testutil.NeedTool(t, "ip", "apt-get install iproute2")
		testAddressReuse(t, true)
	})
}

func testAddressReuse(t *testing.T, netns bool) {
	tb := startFarm(t, 3, func(c *Config) { c.Netns = netns })
	ids := tb.Instances()
	waitViews(t, formTimeout, socketsOf(t, tb.State(), ids...), aliveExactly(ids...))
	old, _ := tb.EC2().Instance(ids[0])
	if block := planBlock(tb.net.subnet, netns); !block.Contains(netip.MustParseAddr(old.PrivateIP)) {
		t.Fatalf("instance address %s is outside the testbed's block %s", old.PrivateIP, block)
	}
	ctx := testutil.Context(t)
	oldNS := tb.State().Instances[0].Netns
	if err := tb.EC2().TerminateInstance(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if netns {
		out, err := exec.Command("ip", "netns", "list").CombinedOutput()
		if err != nil || oldNS == "" || strings.Contains(string(out), oldNS+" ") || strings.HasSuffix(strings.TrimSpace(string(out)), oldNS) {
			t.Errorf("the terminated instance's namespace %q is still there (or ip failed: %v): %s", oldNS, err, out)
		}
	}
	got, err := tb.LaunchWith(ctx, LaunchOptions{Count: 1, Subnet: old.SubnetID})
	if err != nil {
		t.Fatal(err)
	}
	reuser, _ := tb.State().Instance(got[0])
	if reuser.IP != old.PrivateIP {
		t.Fatalf("the new instance %s has %s, want the terminated one's %s", reuser.ID, reuser.IP, old.PrivateIP)
	}
	members := append([]string{got[0]}, ids[1:]...)
	waitViews(t, formTimeout, socketsOf(t, tb.State(), members...), aliveExactly(members...))
	info, err := client.New(reuser.Socket).Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Addr != old.PrivateIP || info.Name != got[0] {
		t.Errorf("the new agent runs as %s at %s, want %s at %s", info.Name, info.Addr, got[0], old.PrivateIP)
	}
}

// A farm larger than a subnet launches in several RunInstances calls, each
// in a subnet with room, every instance at its own address. The machines
// run /bin/true instead of an agent: this is about addresses.
func TestFarmLargerThanASubnet(t *testing.T) {
	needE2E(t)
	tb := startFarm(t, subnetSize+30, func(c *Config) { c.Bin = "/bin/true" })
	seen, subnets := map[string]bool{}, map[string]int{}
	for _, in := range tb.EC2().Instances() {
		if seen[in.PrivateIP] {
			t.Errorf("address %s given twice", in.PrivateIP)
		}
		seen[in.PrivateIP] = true
		subnets[in.SubnetID]++
	}
	if len(seen) != subnetSize+30 || len(subnets) != 2 {
		t.Errorf("%d instances over subnets %v; want %d over two", len(seen), subnets, subnetSize+30)
	}
	if calls := tb.EC2().CallCount("RunInstances"); calls != 2 {
		t.Errorf("%d RunInstances calls, want 2", calls)
	}
}
