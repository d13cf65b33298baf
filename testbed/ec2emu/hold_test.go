package ec2emu

import (
	"testing"
	"time"
)

// A held RunInstances has launched when the hold begins; its caller hears
// nothing until release, and a replay of its token returns the same
// reservation meanwhile.
func TestHoldRunResponseLaunchesThenHoldsTheAnswer(t *testing.T) {
	e := startServer(t, nil)
	c := sdkClient(t, e)
	sn := DefaultConfig().Subnets[0].ID
	held, release := e.HoldRunResponse()
	defer release()
	answered := make(chan error, 1)
	go func() {
		_, err := c.RunInstances(ctx(t), runIn(sn, "tok-held"))
		answered <- err
	}()
	select {
	case <-held:
	case <-time.After(10 * time.Second):
		t.Fatal("the call was never held")
	}
	if n := len(e.Instances()); n != 1 {
		t.Fatalf("%d instances while the answer is held, want the 1 launched", n)
	}
	select {
	case err := <-answered:
		t.Fatalf("the held call answered (%v) before release", err)
	default:
	}
	// Only one call is held: a replay of the token answers at once.
	out, err := c.RunInstances(ctx(t), runIn(sn, "tok-held"))
	if err != nil || len(out.Instances) != 1 || *out.Instances[0].InstanceId != e.Instances()[0].ID {
		t.Fatalf("replay while held: %v, %+v", err, out)
	}
	release()
	if err := <-answered; err != nil {
		t.Fatalf("released call: %v", err)
	}
	if n := len(e.Instances()); n != 1 {
		t.Fatalf("%d instances, want 1", n)
	}
}
