package testbed

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// A 5-node farm forms through S3 alone (no agent is told about another),
// a crashed instance is seen dead by the rest and impaired by EC2, and
// Close leaves nothing behind, the crashed agent's socket included.
func TestFarmFormsThenCrashIsSeenDead(t *testing.T) {
	needE2E(t)
	testutil.FarmhandBinary(t) // built before the clock starts
	start := time.Now()
	tb := startFarm(t, 5, nil)
	ids := tb.Instances()
	if len(ids) != 5 {
		t.Fatalf("Instances() = %v, want 5 ids", ids)
	}
	st := tb.State()
	all := socketsOf(t, st, ids...)
	waitViews(t, formTimeout, all, aliveExactly(ids...))
	t.Logf("5-node farm formed %.2fs after Start", time.Since(start).Seconds())

	// Every agent registered in S3: that is how the others found it.
	if c := tb.S3().Counts(); c.Put < 5 || c.List < 1 {
		t.Errorf("S3 saw %+v; want at least 5 PUTs (one record per agent) and a LIST", c)
	}

	victim, rest := ids[2], append(append([]string{}, ids[:2]...), ids[3:]...)
	if err := tb.Crash(victim); err != nil {
		t.Fatalf("Crash(%s): %v", victim, err)
	}
	in, err := tb.State().Instance(victim)
	if err != nil {
		t.Fatal(err)
	}
	if in.Agent != agentKilled || processAlive(in.PID) {
		t.Errorf("after Crash, agent %q (pid %d running: %v), want killed", in.Agent, in.PID, processAlive(in.PID))
	}
	waitViews(t, detectTimeout, socketsOf(t, tb.State(), rest...),
		both(aliveExactly(rest...), seenAs([]string{victim}, membership.StatusDead)))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := tb.ec2Client().DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{
		InstanceIds: []string{victim, rest[0]},
	})
	if err != nil {
		t.Fatalf("DescribeInstanceStatus: %v", err)
	}
	got := map[string]ec2types.SummaryStatus{}
	for _, s := range out.InstanceStatuses {
		got[aws.ToString(s.InstanceId)] = s.InstanceStatus.Status
		if id := aws.ToString(s.InstanceId); id == victim && s.SystemStatus.Status != ec2types.SummaryStatusImpaired {
			t.Errorf("crashed %s: system status %q, want impaired", id, s.SystemStatus.Status)
		}
	}
	if got[victim] != ec2types.SummaryStatusImpaired || got[rest[0]] != ec2types.SummaryStatusOk {
		t.Errorf("instance statuses %v; want %s impaired and %s ok", got, victim, rest[0])
	}

	dir, final := tb.Dir(), tb.State()
	if err := tb.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	assertTornDown(t, dir, final)
}
