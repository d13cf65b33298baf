package testbed

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed/ec2emu"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// imdsGet reads one metadata item of the instance through the SDK's IMDSv2
// client, as the agent does; found is false on 404.
func imdsGet(t *testing.T, tb *Testbed, id, path string) (body string, found bool) {
	t.Helper()
	in, err := tb.instance(id)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := imds.New(imds.Options{Endpoint: in.imds.URL(), HTTPClient: &http.Client{Transport: tr}, Retryer: aws.NopRetryer{}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := c.GetMetadata(ctx, &imds.GetMetadataInput{Path: path})
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound {
		return "", false
	}
	if err != nil {
		t.Fatalf("IMDS of %s, %s: %v", id, path, err)
	}
	defer out.Content.Close()
	b, err := io.ReadAll(out.Content)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), true
}

// A spot farm: 'testbed rebalance' and 'testbed interrupt' (through the
// real CLI) post what IMDS then serves, and the interruption is carried
// out when its notice is up: the agent stops gracefully, EC2 says
// terminated (or stopped, for a persistent request that stops).
func TestCLISpotInterruptAndRebalance(t *testing.T) {
	needE2E(t)
	tb := startFarm(t, 3, func(c *Config) { c.Spot = true })
	dir, ids := tb.Dir(), tb.Instances()
	waitViews(t, formTimeout, socketsOf(t, tb.State(), ids...), aliveExactly(ids...))
	victim, rest := ids[0], ids[1:]
	for _, id := range ids {
		if got, _ := imdsGet(t, tb, id, "instance-life-cycle"); got != "spot" {
			t.Errorf("IMDS of %s says instance-life-cycle %q, want spot", id, got)
		}
	}
	if _, found := imdsGet(t, tb, victim, "spot/instance-action"); found {
		t.Fatal("spot/instance-action answers before any notice")
	}

	if out, errOut, code := runCLI(t, "testbed", "rebalance", rest[0], "-dir", dir); code != 0 || !strings.Contains(out, rest[0]) {
		t.Fatalf("rebalance: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	body, found := imdsGet(t, tb, rest[0], "events/recommendations/rebalance")
	var rec struct{ NoticeTime string }
	if !found || json.Unmarshal([]byte(body), &rec) != nil || rec.NoticeTime == "" {
		t.Errorf("after rebalance, IMDS answers %q (found %v)", body, found)
	}
	if _, found := imdsGet(t, tb, rest[1], "events/recommendations/rebalance"); found {
		t.Error("another instance got the rebalance recommendation too")
	}

	posted := time.Now()
	if out, errOut, code := runCLI(t, "testbed", "interrupt", victim, "-notice", "3s", "-dir", dir); code != 0 || !strings.Contains(out, victim) {
		t.Fatalf("interrupt: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	body, found = imdsGet(t, tb, victim, "spot/instance-action")
	var action struct{ Action, Time string }
	if !found || json.Unmarshal([]byte(body), &action) != nil || action.Action != "terminate" {
		t.Fatalf("after interrupt, spot/instance-action is %q (found %v)", body, found)
	}
	due, err := time.Parse(time.RFC3339, action.Time)
	if err != nil || due.Before(posted.Add(2*time.Second)) || due.After(time.Now().Add(3*time.Second)) {
		t.Errorf("the notice says %s (%v); want about 3s after it was posted at %s", action.Time, err, posted.UTC().Format(time.RFC3339))
	}
	if st, _ := mustRead(t, dir).Instance(victim); len(st.Notices) != 1 || !strings.HasPrefix(st.Notices[0], "spot interruption: terminate at ") || st.Agent != agentRunning {
		t.Errorf("testbed.json during the notice: %+v", st)
	}
	testutil.Run(t, 30*time.Second, func(r *testutil.R) {
		if in, _ := tb.EC2().Instance(victim); in.State != ec2emu.StateTerminated {
			r.Fatalf("%s is %s", victim, in.State)
		}
	})
	if in, _ := tb.EC2().Instance(victim); !strings.HasPrefix(in.StateReason, "Server.SpotInstanceTermination") {
		t.Errorf("interrupted with reason %q", in.StateReason)
	}
	if st, _ := mustRead(t, dir).Instance(victim); st.Agent != agentStopped || processAlive(st.PID) {
		t.Errorf("after the interruption the agent is %s (pid %d alive %v); want stopped gracefully", st.Agent, st.PID, processAlive(st.PID))
	}
	waitViews(t, detectTimeout, socketsOf(t, tb.State(), rest...), both(aliveExactly(rest...), seenAs([]string{victim}, membership.StatusLeft)))

	// EC2 interrupts Spot Instances only, and as their behaviour says.
	onDemand, err := tb.Launch(testutil.Context(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runCLI(t, "testbed", "interrupt", onDemand[0], "-dir", dir)
	if code != 1 || !strings.Contains(errOut, "not a Spot Instance") {
		t.Errorf("interrupt of an on-demand instance: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = runCLI(t, "testbed", "interrupt", rest[0], "-action", "stop", "-dir", dir)
	if code != 1 || !strings.Contains(errOut, "EC2 would terminate it, not stop it") {
		t.Errorf("interrupt -action stop of a terminating Spot Instance: exit %d, stderr %q", code, errOut)
	}
	if _, errOut, code = runCLI(t, "testbed", "interrupt", rest[0], "-notice", "soon", "-dir", dir); code != 2 {
		t.Errorf("interrupt -notice soon: exit %d, stderr %q; want a usage error", code, errOut)
	}

	// A persistent request that stops: stopped at the notice, started again
	// without it.
	out, errOut, code := runCLI(t, "testbed", "launch", "-spot", "-interruption", "stop", "-dir", dir)
	if code != 0 {
		t.Fatalf("launch -spot -interruption stop: exit %d, stderr %q", code, errOut)
	}
	stopper := strings.TrimSpace(strings.TrimPrefix(out, "launch:"))
	if in, _ := tb.EC2().Instance(stopper); in.SpotInstanceType != "persistent" || in.InterruptionBehavior != "stop" {
		t.Fatalf("launch -spot -interruption stop made %+v", in)
	}
	if _, errOut, code := runCLI(t, "testbed", "interrupt", stopper, "-notice", "0s", "-dir", dir); code != 0 {
		t.Fatalf("interrupt: exit %d, stderr %q", code, errOut)
	}
	testutil.Run(t, 30*time.Second, func(r *testutil.R) {
		if in, _ := tb.EC2().Instance(stopper); in.State != ec2emu.StateStopped {
			r.Fatalf("%s is %s", stopper, in.State)
		}
	})
	if err := tb.Start(testutil.Context(t), stopper); err != nil {
		t.Fatal(err)
	}
	if _, found := imdsGet(t, tb, stopper, "spot/instance-action"); found {
		t.Error("the notice survived a stop and start")
	}
}
