package ec2emu

import (
	"errors"
	"net/http"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// runIn is a one-instance RunInstances input into subnet with token.
func runIn(subnet, token string) *ec2.RunInstancesInput {
	return &ec2.RunInstancesInput{
		ImageId:     aws.String("ami-0123456789abcdef0"),
		MinCount:    aws.Int32(1),
		MaxCount:    aws.Int32(1),
		SubnetId:    aws.String(subnet),
		ClientToken: aws.String(token),
	}
}

func TestCapacityErrorBySubnetAndZone(t *testing.T) {
	e := startServer(t, nil)
	c := sdkClient(t, e)
	subnets := DefaultConfig().Subnets
	a, b := subnets[0], subnets[1]

	e.SetCapacityError(a.ID, true)
	_, err := c.RunInstances(ctx(t), runIn(a.ID, "tok-a"))
	wantAPIError(t, err, "InsufficientInstanceCapacity", http.StatusInternalServerError)
	if n := len(e.Instances()); n != 0 {
		t.Fatalf("%d instances after InsufficientInstanceCapacity, want 0", n)
	}
	if _, err := c.RunInstances(ctx(t), runIn(b.ID, "tok-b")); err != nil {
		t.Fatalf("subnet %s has capacity: %v", b.ID, err)
	}

	// A zone name covers the zone's subnets.
	e.SetCapacityError(b.AvailabilityZone, true)
	_, err = c.RunInstances(ctx(t), runIn(b.ID, "tok-b2"))
	wantAPIError(t, err, "InsufficientInstanceCapacity", http.StatusInternalServerError)
	// A token that already launched is replayed, capacity or not.
	if _, err := c.RunInstances(ctx(t), runIn(b.ID, "tok-b")); err != nil {
		t.Errorf("replaying a launched token without capacity: %v", err)
	}

	// The failed token was not used up: it launches once capacity is back.
	e.SetCapacityError(a.ID, false)
	out, err := c.RunInstances(ctx(t), runIn(a.ID, "tok-a"))
	if err != nil {
		t.Fatalf("after SetCapacityError(%s, false): %v", a.ID, err)
	}
	if got := aws.ToString(out.Instances[0].SubnetId); got != a.ID {
		t.Errorf("launched into %s, want %s", got, a.ID)
	}
	if n := len(e.Instances()); n != 2 {
		t.Errorf("%d instances, want 2 (one per successful token)", n)
	}
}

func TestInternalError(t *testing.T) {
	e := startServer(t, nil)
	c := sdkClient(t, e)
	e.SetInternalError(true)
	_, err := c.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{})
	wantAPIError(t, err, "InternalError", http.StatusInternalServerError)
	_, err = c.RunInstances(ctx(t), runIn(DefaultConfig().Subnets[0].ID, "tok"))
	wantAPIError(t, err, "InternalError", http.StatusInternalServerError)
	if n := len(e.Instances()); n != 0 {
		t.Fatalf("%d instances launched while failing every request, want 0", n)
	}
	e.SetInternalError(false)
	if _, err := c.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{}); err != nil {
		t.Errorf("after SetInternalError(false): %v", err)
	}
}

// A lost answer launches anyway; retrying the token adopts the same
// instance instead of launching another.
func TestLoseRunResponses(t *testing.T) {
	e := startServer(t, nil)
	c := sdkClient(t, e)
	subnet := DefaultConfig().Subnets[0].ID
	e.LoseRunResponses(2)
	for i := range 2 {
		_, err := c.RunInstances(ctx(t), runIn(subnet, "tok"))
		wantAPIError(t, err, "InternalError", http.StatusInternalServerError)
		if n := len(e.Instances()); n != 1 {
			t.Fatalf("call %d: %d instances, want 1 (launched despite the lost answer)", i, n)
		}
	}
	out, err := c.RunInstances(ctx(t), runIn(subnet, "tok"))
	if err != nil {
		t.Fatalf("third call: %v", err)
	}
	ins := e.Instances()
	if len(ins) != 1 || len(out.Instances) != 1 || aws.ToString(out.Instances[0].InstanceId) != ins[0].ID {
		t.Fatalf("retry answered %d instance(s), EC2 holds %d; want the one launched by the lost call", len(out.Instances), len(ins))
	}
	// Without a token every lost call is a new launch: the reason callers
	// send one.
	e.LoseRunResponses(1)
	_, err = c.RunInstances(ctx(t), &ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	wantAPIError(t, err, "InternalError", http.StatusInternalServerError)
	if n := len(e.Instances()); n != 2 {
		t.Errorf("%d instances after a lost tokenless call, want 2", n)
	}
}

func TestSetDownRefusesConnections(t *testing.T) {
	e := startServer(t, nil)
	c := sdkClient(t, e)
	url := e.URL()
	if err := e.SetDown(true); err != nil {
		t.Fatal(err)
	}
	if err := e.SetDown(true); err != nil {
		t.Errorf("SetDown(true) twice: %v", err)
	}
	_, err := c.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{})
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("DescribeInstances while down: %v, want connection refused", err)
	}
	if err := e.SetDown(false); err != nil {
		t.Fatal(err)
	}
	if e.URL() != url {
		t.Errorf("URL changed from %s to %s", url, e.URL())
	}
	if _, err := c.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{}); err != nil {
		t.Errorf("after SetDown(false): %v", err)
	}
	// Close works while down.
	if err := e.SetDown(true); err != nil {
		t.Fatal(err)
	}
}

func TestSetDownBeforeListenAndAfterClose(t *testing.T) {
	e, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SetDown(true); err == nil {
		t.Error("SetDown before Listen succeeded")
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.SetDown(false); err == nil {
		t.Error("SetDown after Close succeeded")
	}
}
