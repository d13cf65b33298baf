package ec2emu

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/jonboulle/clockwork"
)

var reSpotRequestID = regexp.MustCompile(`^sir-[0-9a-f]{8}$`)

// runSpot launches one Spot Instance with the request type and
// interruption behaviour given ("" leaves them to EC2's defaults).
func runSpot(t *testing.T, c *ec2.Client, requestType ec2types.SpotInstanceType, behaviour ec2types.InstanceInterruptionBehavior) (string, error) {
	t.Helper()
	out, err := c.RunInstances(ctx(t), &ec2.RunInstancesInput{
		ImageId: aws.String("ami-0123456789abcdef0"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		InstanceMarketOptions: &ec2types.InstanceMarketOptionsRequest{
			MarketType: ec2types.MarketTypeSpot,
			SpotOptions: &ec2types.SpotMarketOptions{
				SpotInstanceType:             requestType,
				InstanceInterruptionBehavior: behaviour,
				MaxPrice:                     aws.String("0.05"),
			},
		},
	})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.Instances[0].InstanceId), nil
}

func TestRunInstancesSpot(t *testing.T) {
	e := startServer(t, nil)
	c := sdkClient(t, e)
	onDemand := run(t, c, 1, nil)[0]
	oneTime, err := runSpot(t, c, "", "")
	if err != nil {
		t.Fatal(err)
	}
	persistent, err := runSpot(t, c, ec2types.SpotInstanceTypePersistent, ec2types.InstanceInterruptionBehaviorStop)
	if err != nil {
		t.Fatal(err)
	}
	got := describe(t, c, &ec2.DescribeInstancesInput{})
	if got[onDemand].InstanceLifecycle != "" || got[onDemand].SpotInstanceRequestId != nil {
		t.Errorf("on-demand instance: lifecycle %q request %v", got[onDemand].InstanceLifecycle, got[onDemand].SpotInstanceRequestId)
	}
	for _, id := range []string{oneTime, persistent} {
		if got[id].InstanceLifecycle != ec2types.InstanceLifecycleTypeSpot || !reSpotRequestID.MatchString(aws.ToString(got[id].SpotInstanceRequestId)) {
			t.Errorf("spot instance %s: lifecycle %q request %q", id, got[id].InstanceLifecycle, aws.ToString(got[id].SpotInstanceRequestId))
		}
	}
	if snap, _ := e.Instance(persistent); snap.SpotInstanceType != "persistent" || snap.InterruptionBehavior != SpotStop {
		t.Errorf("persistent spot: %s / %s", snap.SpotInstanceType, snap.InterruptionBehavior)
	}
	if snap, _ := e.Instance(oneTime); snap.SpotInstanceType != "one-time" || snap.InterruptionBehavior != SpotTerminate {
		t.Errorf("default spot: %s / %s, want EC2's defaults one-time / terminate", snap.SpotInstanceType, snap.InterruptionBehavior)
	}
	if spots := describe(t, c, filterInput(f("instance-lifecycle", "spot"))); len(spots) != 2 || spots[onDemand].InstanceId != nil {
		t.Errorf("filter instance-lifecycle=spot found %d", len(spots))
	}
	if byReq := describe(t, c, filterInput(f("spot-instance-request-id", aws.ToString(got[oneTime].SpotInstanceRequestId)))); len(byReq) != 1 {
		t.Errorf("filter spot-instance-request-id found %d", len(byReq))
	}

	// A one-time Spot Instance cannot be stopped; a persistent one can.
	for _, id := range []string{oneTime, persistent} {
		waitState(t, c, id, ec2types.InstanceStateNameRunning)
	}
	_, err = c.StopInstances(ctx(t), &ec2.StopInstancesInput{InstanceIds: []string{oneTime}})
	wantAPIError(t, err, "UnsupportedOperation", http.StatusBadRequest)
	wantMessage(t, err, "You can't stop the Spot Instance '"+oneTime+"' because it is associated with a one-time Spot Instance request. You can only stop Spot Instances associated with persistent Spot Instance requests.")
	if _, err := c.StopInstances(ctx(t), &ec2.StopInstancesInput{InstanceIds: []string{persistent}}); err != nil {
		t.Errorf("stopping a persistent Spot Instance: %v", err)
	}

	_, err = runSpot(t, c, ec2types.SpotInstanceTypeOneTime, ec2types.InstanceInterruptionBehaviorStop)
	wantAPIError(t, err, "InvalidParameterCombination", http.StatusBadRequest)
	wantMessage(t, err, "The request with type 'one-time' is not supported when instanceInterruptionBehavior is set to 'stop'.")
	_, err = runSpot(t, c, ec2types.SpotInstanceTypePersistent, ec2types.InstanceInterruptionBehaviorTerminate)
	wantAPIError(t, err, "InvalidParameterCombination", http.StatusBadRequest)
	_, err = runSpot(t, c, "sometimes", "")
	wantAPIError(t, err, "InvalidParameterValue", http.StatusBadRequest)
	_, err = c.RunInstances(ctx(t), &ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		InstanceMarketOptions: &ec2types.InstanceMarketOptionsRequest{SpotOptions: &ec2types.SpotMarketOptions{MaxPrice: aws.String("1")}}})
	wantAPIError(t, err, "MissingParameter", http.StatusBadRequest)
	_, err = c.RunInstances(ctx(t), &ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		InstanceMarketOptions: &ec2types.InstanceMarketOptionsRequest{MarketType: ec2types.MarketTypeSpot,
			SpotOptions: &ec2types.SpotMarketOptions{ValidUntil: aws.Time(time.Now().Add(time.Hour))}}})
	wantAPIError(t, err, "InvalidParameterCombination", http.StatusBadRequest)
}

// An interruption notice shows on the instance at once; when it falls due
// EC2 carries out the action, with the Spot reason.
func TestInterrupt(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	h := &hookLog{}
	e := startServer(t, func(c *Config) { c.Clock = clock; c.Hooks = h.hooks() })
	c := sdkClient(t, e)
	victim, _ := runSpot(t, c, "", "")
	persistent, _ := runSpot(t, c, ec2types.SpotInstanceTypePersistent, ec2types.InstanceInterruptionBehaviorStop)
	onDemand := run(t, c, 1, nil)[0]
	for _, id := range []string{victim, persistent, onDemand} {
		waitState(t, c, id, ec2types.InstanceStateNameRunning)
	}

	due, err := e.Interrupt(victim, "", 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if in, _ := e.Instance(victim); in.SpotAction != SpotTerminate || !in.SpotActionTime.Equal(due) || !due.Equal(clock.Now().Add(2*time.Minute)) {
		t.Errorf("notice: %s at %v (returned %v), want terminate at now+2m", in.SpotAction, in.SpotActionTime, due)
	}
	for _, bad := range []struct {
		id, action string
		want       string
	}{
		{onDemand, "", "not a Spot Instance"},
		{victim, "", "already has a notice"},
		{persistent, SpotTerminate, "EC2 would stop it, not terminate it"},
		{persistent, "explode", "want terminate, stop or hibernate"},
		{"i-0000000000000000a", "", "no instance"},
	} {
		if _, err := e.Interrupt(bad.id, bad.action, time.Minute); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("Interrupt(%s, %q): %v; want an error saying %q", bad.id, bad.action, err, bad.want)
		}
	}
	if err := clock.BlockUntilContext(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2*time.Minute - time.Second)
	if got := stateOf(t, c, victim); got != ec2types.InstanceStateNameRunning {
		t.Fatalf("before the notice falls due the instance is %s", got)
	}
	clock.Advance(time.Second)
	waitState(t, c, victim, ec2types.InstanceStateNameTerminated)
	got := describe(t, c, &ec2.DescribeInstancesInput{InstanceIds: []string{victim}})[victim]
	if got.StateReason == nil || aws.ToString(got.StateReason.Code) != "Server.SpotInstanceTermination" ||
		aws.ToString(got.StateTransitionReason) != "Service initiated (2026-03-01 12:02:00 GMT)" {
		t.Errorf("interrupted: reason %+v, transition %q", got.StateReason, aws.ToString(got.StateTransitionReason))
	}

	// stop: the persistent instance stops; a start clears its notice.
	if _, err := e.Interrupt(persistent, SpotStop, 0); err != nil {
		t.Fatal(err)
	}
	waitState(t, c, persistent, ec2types.InstanceStateNameStopped)
	got = describe(t, c, &ec2.DescribeInstancesInput{InstanceIds: []string{persistent}})[persistent]
	if got.StateReason == nil || aws.ToString(got.StateReason.Code) != "Server.SpotInstanceShutdown" {
		t.Errorf("interrupted by stop: reason %+v", got.StateReason)
	}
	if err := e.StartInstance(ctx(t), persistent); err != nil {
		t.Fatal(err)
	}
	if in, _ := e.Instance(persistent); in.SpotAction != "" || !in.SpotActionTime.IsZero() || in.State != StateRunning {
		t.Errorf("after a start: %s, notice %q %v; want running without a notice", in.State, in.SpotAction, in.SpotActionTime)
	}

	// A notice lapses when the instance leaves running first.
	if _, err := e.Interrupt(persistent, "", time.Minute); err != nil {
		t.Fatal(err)
	}
	stopStart(t, e, persistent)
	if err := clock.BlockUntilContext(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if err := e.Close(); err != nil { // waits for the notice's goroutine
		t.Fatal(err)
	}
	if in, _ := e.Instance(persistent); in.State != StateRunning {
		t.Errorf("a lapsed notice acted: the instance is %s", in.State)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.killed) != 1 || len(h.stopped) != 2 {
		t.Errorf("hooks: %d terminations, %d stops; want 1 and 2", len(h.killed), len(h.stopped))
	}
}

func TestRebalance(t *testing.T) {
	clock := clockwork.NewFakeClock()
	e := startServer(t, func(c *Config) { c.Clock = clock })
	c := sdkClient(t, e)
	spot, _ := runSpot(t, c, "", "")
	onDemand := run(t, c, 1, nil)[0]
	waitState(t, c, spot, ec2types.InstanceStateNameRunning)
	waitState(t, c, onDemand, ec2types.InstanceStateNameRunning)
	first, err := e.Rebalance(spot)
	if err != nil || !first.Equal(clock.Now()) {
		t.Fatalf("Rebalance: %v %v", first, err)
	}
	clock.Advance(time.Minute)
	if again, _ := e.Rebalance(spot); !again.Equal(first) {
		t.Errorf("a second recommendation moved the notice time to %v", again)
	}
	if in, _ := e.Instance(spot); !in.RebalanceTime.Equal(first) || in.State != StateRunning {
		t.Errorf("after a recommendation: %s, time %v", in.State, in.RebalanceTime)
	}
	if _, err := e.Rebalance(onDemand); err == nil {
		t.Error("an on-demand instance got a rebalance recommendation")
	}
}
