package ec2emu

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/jonboulle/clockwork"
)

func TestParseDelay(t *testing.T) {
	for in, want := range map[string]Delay{
		"0":       {},
		"10s":     {10 * time.Second, 10 * time.Second},
		"5s-15s":  {5 * time.Second, 15 * time.Second},
		" 1m-2m ": {time.Minute, 2 * time.Minute},
	} {
		got, err := ParseDelay(in)
		if err != nil || got != want {
			t.Errorf("ParseDelay(%q) = %v, %v; want %v", in, got, err, want)
		}
		if again, err := ParseDelay(got.String()); err != nil || again.pick() < want.Min || again.Max != want.Max {
			t.Errorf("%q does not round-trip through String %q: %v %v", in, got, again, err)
		}
	}
	for _, bad := range []string{"", "soon", "5s-", "-5s", "15s-5s", "5s-15"} {
		if _, err := ParseDelay(bad); err == nil {
			t.Errorf("ParseDelay(%q) accepted it", bad)
		}
	}
}

// Each boot draws its pending time from the range, and the instance stays
// pending exactly that long.
func TestBootDelaySpread(t *testing.T) {
	clock := clockwork.NewFakeClock()
	e := startServer(t, func(c *Config) { c.Clock = clock; c.BootDelay = Delay{Min: 5 * time.Second, Max: 15 * time.Second} })
	c := sdkClient(t, e)
	ids := run(t, c, 20, nil)
	seen := map[time.Duration]bool{}
	var first Instance
	for i, id := range ids {
		in, _ := e.Instance(id)
		if in.BootDelay < 5*time.Second || in.BootDelay > 15*time.Second {
			t.Errorf("%s boots after %s, outside 5s-15s", id, in.BootDelay)
		}
		seen[in.BootDelay] = true
		if i == 0 || in.BootDelay < first.BootDelay {
			first = in
		}
	}
	if len(seen) < 2 {
		t.Errorf("20 boots all drew %v: no spread", seen)
	}
	if err := clock.BlockUntilContext(ctx(t), 20); err != nil {
		t.Fatal(err)
	}
	clock.Advance(first.BootDelay - time.Nanosecond)
	if got := stateOf(t, c, first.ID); got != ec2types.InstanceStateNamePending {
		t.Fatalf("%s is %s before its boot delay %s", first.ID, got, first.BootDelay)
	}
	clock.Advance(time.Nanosecond)
	waitState(t, c, first.ID, ec2types.InstanceStateNameRunning)
	clock.Advance(15 * time.Second)
	for _, id := range ids {
		waitState(t, c, id, ec2types.InstanceStateNameRunning)
	}

	// A start draws again.
	e.SetBootDelay(Delay{Min: time.Hour})
	if err := e.StopInstance(ctx(t), first.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartInstances(ctx(t), &ec2.StartInstancesInput{InstanceIds: []string{first.ID}}); err != nil {
		t.Fatal(err)
	}
	if in, _ := e.Instance(first.ID); in.BootDelay != time.Hour || in.State != StatePending {
		t.Errorf("after a start: %s, boot delay %s; want pending for 1h", in.State, in.BootDelay)
	}
	if _, err := New(Config{Region: "r", Subnets: DefaultConfig().Subnets, BootDelay: Delay{Min: time.Minute, Max: time.Second}}); err == nil {
		t.Error("New accepted a boot delay range that ends before it starts")
	}
}
