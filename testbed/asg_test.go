package testbed

import (
	"strings"
	"testing"
	"time"

	"github.com/farmhand/farmhand/testbed/ec2emu"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// 'testbed launch -asg' starts an instance its Auto Scaling group owns;
// 'testbed asg-terminate' has the group terminate it: IMDS's
// target-lifecycle-state goes from InService to Terminated at once, the
// instance is terminated when the notice is up.
func TestCLIAutoScalingGroupInstance(t *testing.T) {
	needE2E(t)
	tb := startFarm(t, 2, nil)
	dir, farm := tb.Dir(), tb.Instances()
	out, errOut, code := runCLI(t, "testbed", "launch", "-asg", "web", "-dir", dir)
	if code != 0 {
		t.Fatalf("launch -asg web: exit %d, stderr %q", code, errOut)
	}
	owned := strings.TrimSpace(strings.TrimPrefix(out, "launch:"))
	if in, _ := tb.EC2().Instance(owned); in.Tags[ec2emu.TagAutoScalingGroup] != "web" || in.Tags["farmhand:cluster"] == "" {
		t.Fatalf("launch -asg web made %s with tags %v", owned, in.Tags)
	}
	st, _ := mustRead(t, dir).Instance(owned)
	if st.ASG != "web" || st.Agent != agentRunning {
		t.Errorf("testbed.json: %+v", st)
	}
	if got, found := imdsGet(t, tb, owned, "autoscaling/target-lifecycle-state"); got != "InService" {
		t.Errorf("IMDS target-lifecycle-state = %q (found %v), want InService", got, found)
	}
	if _, found := imdsGet(t, tb, farm[0], "autoscaling/target-lifecycle-state"); found {
		t.Error("an instance outside any group has a target lifecycle state")
	}
	all := append([]string{owned}, farm...)
	waitViews(t, formTimeout, socketsOf(t, tb.State(), all...), aliveExactly(all...))

	_, errOut, code = runCLI(t, "testbed", "asg-terminate", farm[0], "-dir", dir)
	if code != 1 || !strings.Contains(errOut, "not in an Auto Scaling group") {
		t.Errorf("asg-terminate of a farm instance: exit %d, stderr %q", code, errOut)
	}
	if _, errOut, code := runCLI(t, "testbed", "asg-terminate", owned, "-notice", "2s", "-dir", dir); code != 0 {
		t.Fatalf("asg-terminate: exit %d, stderr %q", code, errOut)
	}
	if got, _ := imdsGet(t, tb, owned, "autoscaling/target-lifecycle-state"); got != "Terminated" {
		t.Errorf("IMDS target-lifecycle-state = %q right after asg-terminate, want Terminated", got)
	}
	if st, _ := mustRead(t, dir).Instance(owned); len(st.Notices) != 1 || st.Agent != agentRunning {
		t.Errorf("testbed.json during the hook: %+v", st)
	}
	testutil.Run(t, 30*time.Second, func(r *testutil.R) {
		if in, _ := tb.EC2().Instance(owned); in.State != ec2emu.StateTerminated {
			r.Fatalf("%s is %s", owned, in.State)
		}
	})
	waitViews(t, detectTimeout, socketsOf(t, tb.State(), farm...), aliveExactly(farm...))
}
