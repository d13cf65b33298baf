package ec2emu

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// oneSubnet is a config with a single /28 subnet: 11 usable addresses,
// 10.0.0.4 to 10.0.0.14.
func oneSubnet(c *Config) {
	c.Subnets = []Subnet{{ID: "subnet-0a0000000000000a1", AvailabilityZone: "us-east-1a", CIDR: "10.0.0.0/28"}}
}

func ipsOf(t *testing.T, e *Server, ids []string) []string {
	t.Helper()
	out := make([]string, len(ids))
	for i, id := range ids {
		in, ok := e.Instance(id)
		if !ok {
			t.Fatalf("no instance %s", id)
		}
		out[i] = in.PrivateIP
	}
	return out
}

// A subnet hands out its lowest free address; a terminated instance's
// address goes back to the pool once it is terminated (not while it shuts
// down, and not when it is stopped) and is the next one handed out.
func TestAddressesReusedAfterTermination(t *testing.T) {
	release := make(chan struct{})
	e := startServer(t, func(c *Config) {
		oneSubnet(c)
		c.Hooks.OnTerminate = blockUntil(release)
	})
	c := sdkClient(t, e)
	ids := run(t, c, 3, nil)
	if got := ipsOf(t, e, ids); !equal(got, []string{"10.0.0.4", "10.0.0.5", "10.0.0.6"}) {
		t.Fatalf("addresses %v, want the lowest free ones (10.0.0.0-3 are reserved)", got)
	}
	for _, id := range ids {
		waitState(t, c, id, ec2types.InstanceStateNameRunning)
	}

	// Stopped keeps its address.
	if err := e.StopInstance(ctx(t), ids[0]); err != nil {
		t.Fatal(err)
	}
	// Shutting down keeps it too.
	if _, err := c.TerminateInstances(ctx(t), &ec2.TerminateInstancesInput{InstanceIds: ids[1:2]}); err != nil {
		t.Fatal(err)
	}
	_, err := runAt(t, c, "10.0.0.5")
	wantAPIError(t, err, "InvalidIPAddress.InUse", http.StatusBadRequest)
	if !strings.Contains(err.Error(), "Address 10.0.0.5 is in use.") {
		t.Errorf("in-use error %q does not name the address as EC2 does", err)
	}
	_, err = runAt(t, c, "10.0.0.4")
	wantAPIError(t, err, "InvalidIPAddress.InUse", http.StatusBadRequest)
	if got := ipsOf(t, e, run(t, c, 1, nil)); got[0] != "10.0.0.7" {
		t.Errorf("while 10.0.0.5 shuts down the next address is %s, want 10.0.0.7", got[0])
	}

	close(release)
	waitState(t, c, ids[1], ec2types.InstanceStateNameTerminated)
	got := describe(t, c, &ec2.DescribeInstancesInput{InstanceIds: ids[1:2]})[ids[1]]
	if got.PrivateIpAddress != nil || got.PrivateDnsName != nil && *got.PrivateDnsName != "" {
		t.Errorf("a terminated instance still reports address %q / %q", aws.ToString(got.PrivateIpAddress), aws.ToString(got.PrivateDnsName))
	}
	reuser := run(t, c, 1, nil)[0]
	if got := ipsOf(t, e, []string{reuser}); got[0] != "10.0.0.5" {
		t.Errorf("after the termination the next address is %s, want 10.0.0.5 again", got[0])
	}
	byIP := describe(t, c, filterInput(f("private-ip-address", "10.0.0.5")))
	if len(byIP) != 1 || byIP[reuser].InstanceId == nil {
		t.Errorf("filter private-ip-address=10.0.0.5 found %d instances, want only the new holder %s", len(byIP), reuser)
	}
	if snap, _ := e.Instance(ids[1]); snap.PrivateIP != "10.0.0.5" {
		t.Errorf("the Go snapshot of the terminated instance lost the record of its address: %q", snap.PrivateIP)
	}
}

// A full subnet answers InsufficientFreeAddressesInSubnet; a launch that
// names no subnet goes to the next one with room.
func TestFullSubnet(t *testing.T) {
	e := startServer(t, func(c *Config) {
		c.Subnets = []Subnet{
			{ID: "subnet-0a0000000000000a1", AvailabilityZone: "us-east-1a", CIDR: "10.0.0.0/28"},
			{ID: "subnet-0b0000000000000b1", AvailabilityZone: "us-east-1b", CIDR: "10.0.1.0/24"},
		}
	})
	c := sdkClient(t, e)
	in := &ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), MinCount: aws.Int32(11), MaxCount: aws.Int32(11),
		SubnetId: aws.String("subnet-0a0000000000000a1")}
	if _, err := c.RunInstances(ctx(t), in); err != nil {
		t.Fatalf("filling the /28: %v", err)
	}
	in.MinCount, in.MaxCount, in.ClientToken = aws.Int32(1), aws.Int32(1), nil // the SDK filled in a token
	_, err := c.RunInstances(ctx(t), in)
	wantAPIError(t, err, "InsufficientFreeAddressesInSubnet", http.StatusBadRequest)
	if !strings.Contains(err.Error(), "subnet-0a0000000000000a1") {
		t.Errorf("error %q does not name the subnet", err)
	}
	for range 3 {
		id := run(t, c, 1, nil)[0]
		if got, _ := e.Instance(id); got.SubnetID != "subnet-0b0000000000000b1" {
			t.Errorf("a launch without a subnet went to the full %s", got.SubnetID)
		}
	}
}

// With AddressRandom every free address can come out, and none twice.
func TestAddressPolicyRandom(t *testing.T) {
	e := startServer(t, func(c *Config) { oneSubnet(c); c.AddressPolicy = AddressRandom })
	c := sdkClient(t, e)
	seen := map[string]bool{}
	for _, ip := range ipsOf(t, e, run(t, c, 11, nil)) {
		a := netip.MustParseAddr(ip)
		if seen[ip] || a.Less(netip.MustParseAddr("10.0.0.4")) || netip.MustParseAddr("10.0.0.14").Less(a) {
			t.Errorf("address %s duplicated or outside 10.0.0.4-14", ip)
		}
		seen[ip] = true
	}
	if len(seen) != 11 {
		t.Errorf("%d distinct addresses, want all 11", len(seen))
	}
}

// An address the request names is honoured, in the subnet named or, with
// none named, in the subnet that holds it.
func TestRunInstancesPrivateIPAddress(t *testing.T) {
	e := startServer(t, nil)
	c := sdkClient(t, e)
	id, err := runAt(t, c, "10.0.17.200")
	if err != nil {
		t.Fatal(err)
	}
	got := describe(t, c, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})[id]
	if aws.ToString(got.SubnetId) != "subnet-0b0000000000000b1" || aws.ToString(got.PrivateDnsName) != "ip-10-0-17-200.ec2.internal" {
		t.Errorf("launched in %s as %s, want the subnet holding 10.0.17.200", aws.ToString(got.SubnetId), aws.ToString(got.PrivateDnsName))
	}
	out, err := c.RunInstances(ctx(t), &ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"),
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String("subnet-0c0000000000000c1"), PrivateIpAddress: aws.String("10.0.40.1")})
	if err != nil || aws.ToString(out.Instances[0].PrivateIpAddress) != "10.0.40.1" {
		t.Errorf("explicit subnet and address: %v %+v", err, out)
	}
	_, err = c.RunInstances(ctx(t), &ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"),
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String("subnet-0a0000000000000a1"), PrivateIpAddress: aws.String("10.0.40.2")})
	wantAPIError(t, err, "InvalidParameterValue", http.StatusBadRequest)
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorMessage() != "Address 10.0.40.2 does not fall within the subnet's address range" {
		t.Errorf("outside-the-subnet message = %q", ae.ErrorMessage())
	}
}

func TestNewRejectsBadSubnets(t *testing.T) {
	for name, subnets := range map[string][]Subnet{
		"no cidr":   {{ID: "subnet-1", AvailabilityZone: "us-east-1a"}},
		"bad cidr":  {{ID: "subnet-1", AvailabilityZone: "us-east-1a", CIDR: "10.0.0.0/33"}},
		"host bits": {{ID: "subnet-1", AvailabilityZone: "us-east-1a", CIDR: "10.0.0.1/24"}},
		"too small": {{ID: "subnet-1", AvailabilityZone: "us-east-1a", CIDR: "10.0.0.0/29"}},
		"too big":   {{ID: "subnet-1", AvailabilityZone: "us-east-1a", CIDR: "10.0.0.0/15"}},
		"ipv6":      {{ID: "subnet-1", AvailabilityZone: "us-east-1a", CIDR: "fd00::/64"}},
		"overlap": {{ID: "subnet-1", AvailabilityZone: "us-east-1a", CIDR: "10.0.0.0/20"},
			{ID: "subnet-2", AvailabilityZone: "us-east-1b", CIDR: "10.0.8.0/24"}},
		"same id": {{ID: "subnet-1", AvailabilityZone: "us-east-1a", CIDR: "10.0.0.0/24"},
			{ID: "subnet-1", AvailabilityZone: "us-east-1b", CIDR: "10.0.1.0/24"}},
	} {
		cfg := DefaultConfig()
		cfg.Subnets = subnets
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, subnets)
		}
	}
	cfg := DefaultConfig()
	cfg.AddressPolicy = "fifo"
	if _, err := New(cfg); err == nil {
		t.Error("New accepted AddressPolicy fifo")
	}
}
