package testbed

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/farmhand/farmhand/agent/client"
	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed/ec2emu"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// renderHCL is each instance's own config (Config.InstanceHCL): Hadoop's
// lists in the instance's folder, with the given stability window, and the
// drain block.
func renderHCL(stable, drain string) func(id, dir string) string {
	return func(id, dir string) string {
		var b strings.Builder
		for _, tmpl := range []string{"hdfs-exclude", "yarn-exclude", "hdfs-hosts", "hdfs-hosts-json"} {
			fmt.Fprintf(&b, "render %q {\n  template = %q\n  destination = %q\n  wait_min = \"0s\"\n  wait_max = %q\n  stable = %q\n}\n",
				tmpl, tmpl, filepath.Join(dir, tmpl), stable, stable)
		}
		if drain != "" {
			b.WriteString(strings.ReplaceAll(drain, "$DIR", dir))
		}
		return b.String()
	}
}

// hostsIn reads the host lines of a rendered plain host list.
func hostsIn(dir, name string) ([]string, error) {
	return testutil.HostLines(filepath.Join(dir, name))
}

func instanceDir(t *testing.T, tb *Testbed, id string) string {
	t.Helper()
	in, err := tb.instance(id)
	if err != nil {
		t.Fatal(err)
	}
	return in.dir
}

func instanceIP(t *testing.T, tb *Testbed, id string) string {
	t.Helper()
	in, err := tb.instance(id)
	if err != nil {
		t.Fatal(err)
	}
	return in.ip
}

// leftGracefully checks, from the agent's own log, that it left the
// cluster on its own (the drain watcher's leave) and that the leave
// broadcast finished.
func leftGracefully(t *testing.T, tb *Testbed, id string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(instanceDir(t, tb, id), "agent.log"))
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	if !strings.Contains(log, "leaving the cluster and deleting our record before the deadline") ||
		!strings.Contains(log, "leaving the cluster: node="+id) || strings.Contains(log, "leave broadcast did not finish") {
		t.Errorf("%s did not leave gracefully on its own; its log:\n%s", id, log)
	}
}

// gone is left, or dead: memberlist's leave is a broadcast, and under load
// a peer may get the dead message before the leave intent
// (membership.Cluster.Leave gossips metaLeaving first), and show the
// leaver dead; leftGracefully checks the leave itself.
var gone = []membership.Status{membership.StatusLeft, membership.StatusDead}

// records lists the registry records of instance id in the embedded S3.
func records(t *testing.T, tb *Testbed, id string) int {
	t.Helper()
	out, err := testutil.NewS3Client(tb.s3URL).ListObjectsV2(testutil.Context(t), &s3.ListObjectsV2Input{
		Bucket: aws.String(tb.bucket), Prefix: aws.String(registryPfx + "/" + tb.State().Cluster + "/nodes/" + id + "/")})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Contents)
}

// A spot interruption on real agents: the victim's agent reads the notice
// from IMDS, every agent sees it draining, every exclude list takes it at
// once (the stability window is 2 minutes, far longer than the test), its
// on_drain runs, and it leaves and deletes its record before EC2 acts.
// FARMHAND_DRAIN_NOTICE (default 20s; 2m for EC2's real notice) sets the
// notice; the timeline is logged.
func TestSpotInterruptionDrains(t *testing.T) {
	needE2E(t)
	notice := 20 * time.Second
	if s := os.Getenv("FARMHAND_DRAIN_NOTICE"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("FARMHAND_DRAIN_NOTICE: %v", err)
		}
		notice = d
	}
	drain := `drain {
  poll_interval = "250ms"
  leave_before  = "6s"
  on_drain      = "echo \"$FARMHAND_DRAIN_REASON $FARMHAND_DRAIN_ACTION $FARMHAND_DRAIN_DEADLINE\" > $DIR/on_drain.out"
}
`
	tb := startFarm(t, 3, func(c *Config) {
		c.Spot = true
		c.InstanceHCL = renderHCL("2m", drain)
	})
	ids := tb.Instances()
	socks := socketsOf(t, tb.State(), ids...)
	waitViews(t, formTimeout, socks, aliveExactly(ids...))
	victim, rest := ids[0], ids[1:]
	victimIP := instanceIP(t, tb, victim)
	// The start render is written once the agent is ready; wait for it
	// everywhere so a later file is the rewrite.
	testutil.Run(t, formTimeout, func(r *testutil.R) {
		for _, id := range ids {
			if _, err := hostsIn(instanceDir(t, tb, id), "hdfs-exclude"); err != nil {
				r.Fatalf("%v", err)
			}
		}
	})
	if records(t, tb, victim) != 1 {
		t.Fatalf("the victim has no registry record before the notice")
	}

	posted := time.Now()
	due, err := tb.Interrupt(victim, "terminate", notice)
	if err != nil {
		t.Fatal(err)
	}
	waitViews(t, notice, socks, seenAs([]string{victim}, membership.StatusDraining))
	drainingAll := time.Now()

	testutil.Run(t, notice, func(r *testutil.R) {
		for _, id := range ids {
			dir := instanceDir(t, tb, id)
			for _, list := range []string{"hdfs-exclude", "yarn-exclude"} {
				hosts, err := hostsIn(dir, list)
				if err != nil || !strings.Contains(strings.Join(hosts, " "), victimIP) {
					r.Fatalf("%s's %s: %v %v; want %s", id, list, hosts, err, victimIP)
				}
			}
			b, _ := os.ReadFile(filepath.Join(dir, "hdfs-hosts-json"))
			if !strings.Contains(string(b), `{"hostName": "`+victimIP+`", "adminState": "DECOMMISSIONED"}`) {
				r.Fatalf("%s's hdfs-hosts-json: %s", id, b)
			}
		}
	})
	excluded := time.Now()
	// The draining victim is still in the include list: HDFS decommissions
	// only a node it knows.
	for _, id := range ids {
		if hosts, _ := hostsIn(instanceDir(t, tb, id), "hdfs-hosts"); !strings.Contains(strings.Join(hosts, " "), victimIP) {
			t.Errorf("%s's hdfs-hosts dropped the draining %s: %v", id, victimIP, hosts)
		}
	}

	st, err := client.New(socks[victim]).Status(testutil.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	if d := st.Drain; d == nil || !d.Draining || d.Reason != "spot-interruption" || d.Action != "terminate" || !d.Deadline.Equal(due.Truncate(time.Second)) {
		t.Errorf("the victim's info: %+v", d)
	}
	testutil.Run(t, notice, func(r *testutil.R) {
		b, err := os.ReadFile(filepath.Join(instanceDir(t, tb, victim), "on_drain.out"))
		if err != nil || !strings.HasPrefix(string(b), "spot-interruption terminate 20") {
			r.Fatalf("on_drain output %q, %v", b, err)
		}
	})

	// The graceful leave, seen by the others, and the record gone, while
	// EC2 still runs the instance.
	waitViews(t, notice+10*time.Second, socketsOf(t, tb.State(), rest...), seenAs([]string{victim}, gone...))
	left := time.Now()
	leftGracefully(t, tb, victim)
	if in, _ := tb.EC2().Instance(victim); in.State != ec2emu.StateRunning || !left.Before(due) {
		t.Errorf("the leave was seen at %s, EC2 acts at %s, the instance is %s: want the leave first", left.Format(time.RFC3339Nano), due.Format(time.RFC3339Nano), in.State)
	}
	// The record goes right after the leave broadcast (the stop
	// sequence's next step), also before the action.
	testutil.Run(t, time.Until(due), func(r *testutil.R) {
		if n := records(t, tb, victim); n != 0 {
			r.Fatalf("the victim still has %d registry records after its leave", n)
		}
	})
	if deleted := time.Now(); !deleted.Before(due) {
		t.Errorf("the record was deleted at %s, after the action at %s", deleted.Format(time.RFC3339Nano), due.Format(time.RFC3339Nano))
	}
	t.Logf("spot interruption timeline, notice %s: draining seen by all +%s, exclude lists rewritten everywhere +%s, leave seen +%s (%s before the action)",
		notice, drainingAll.Sub(posted).Round(time.Millisecond), excluded.Sub(posted).Round(time.Millisecond),
		left.Sub(posted).Round(time.Millisecond), due.Sub(left).Round(time.Millisecond))

	testutil.Run(t, notice+30*time.Second, func(r *testutil.R) {
		if in, _ := tb.EC2().Instance(victim); in.State != ec2emu.StateTerminated {
			r.Fatalf("%s is %s", victim, in.State)
		}
	})
}

// A rebalance recommendation alone is shown, and drains nothing.
func TestRebalanceRecommendationDoesNotDrain(t *testing.T) {
	needE2E(t)
	tb := startFarm(t, 2, func(c *Config) {
		c.Spot = true
		c.InstanceHCL = renderHCL("1s", "drain {\n  poll_interval = \"250ms\"\n}\n")
	})
	ids := tb.Instances()
	socks := socketsOf(t, tb.State(), ids...)
	waitViews(t, formTimeout, socks, aliveExactly(ids...))
	if err := tb.Rebalance(ids[0]); err != nil {
		t.Fatal(err)
	}
	testutil.Run(t, detectTimeout, func(r *testutil.R) {
		st, err := client.New(socks[ids[0]]).Status(testutil.Context(t))
		if err != nil || st.Drain == nil || st.Drain.RebalanceAt.IsZero() {
			r.Fatalf("no rebalance in info: %+v, %v", st.Drain, err)
		}
		if st.Drain.Draining {
			t.Fatalf("a rebalance recommendation drained: %+v", st.Drain)
		}
	})
	// Several polls later, still alive everywhere, and on no exclude list.
	holdViews(t, 2*time.Second, socks, aliveExactly(ids...))
	for _, id := range ids {
		if hosts, err := hostsIn(instanceDir(t, tb, id), "hdfs-exclude"); err != nil || len(hosts) != 0 {
			t.Errorf("%s's hdfs-exclude: %v, %v", id, hosts, err)
		}
	}
}

// Addresses are not identities: an instance crashes, is terminated, and a
// new one is launched on its address while the dead one is still listed
// (reap time). Every agent's lists then hold the address as the live
// member's: out of the exclude lists, in the include lists, NORMAL.
func TestReusedAddressIsNotExcluded(t *testing.T) {
	needE2E(t)
	tb := startFarm(t, 3, func(c *Config) { c.InstanceHCL = renderHCL("1s", "") })
	ids := tb.Instances()
	waitViews(t, formTimeout, socketsOf(t, tb.State(), ids...), aliveExactly(ids...))
	victim, rest := ids[0], ids[1:]
	ip := instanceIP(t, tb, victim)
	if err := tb.Crash(victim); err != nil {
		t.Fatal(err)
	}
	waitViews(t, detectTimeout, socketsOf(t, tb.State(), rest...), seenAs([]string{victim}, membership.StatusDead))
	testutil.Run(t, detectTimeout, func(r *testutil.R) {
		for _, id := range rest {
			if hosts, err := hostsIn(instanceDir(t, tb, id), "hdfs-exclude"); err != nil || strings.Join(hosts, " ") != ip {
				r.Fatalf("%s's hdfs-exclude %v, %v; want the dead %s", id, hosts, err, ip)
			}
		}
	})

	ctx := testutil.Context(t)
	if _, err := tb.ec2Client().TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{victim}}); err != nil {
		t.Fatal(err)
	}
	// EC2 frees the address once the instance is terminated.
	testutil.Run(t, detectTimeout, func(r *testutil.R) {
		if in, _ := tb.EC2().Instance(victim); in.State != ec2emu.StateTerminated {
			r.Fatalf("%s is %s", victim, in.State)
		}
	})
	fresh, err := tb.LaunchWith(ctx, LaunchOptions{Count: 1, PrivateIP: ip})
	if err != nil {
		t.Fatal(err)
	}
	if got := instanceIP(t, tb, fresh[0]); got != ip {
		t.Fatalf("launched on %s, want the dead one's %s", got, ip)
	}
	// The survivors still list the dead member (the new agent may never
	// have heard of it).
	survivors := socketsOf(t, tb.State(), rest...)
	waitViews(t, formTimeout, socketsOf(t, tb.State(), append(rest, fresh[0])...), aliveExactly(append(rest, fresh[0])...))
	waitViews(t, formTimeout, survivors, seenAs([]string{victim}, membership.StatusDead))
	testutil.Run(t, detectTimeout, func(r *testutil.R) {
		for _, id := range append(rest, fresh[0]) {
			dir := instanceDir(t, tb, id)
			for _, list := range []string{"hdfs-exclude", "yarn-exclude"} {
				if hosts, err := hostsIn(dir, list); err != nil || len(hosts) != 0 {
					r.Fatalf("%s's %s: %v, %v; want the reused %s out", id, list, hosts, err, ip)
				}
			}
			if hosts, err := hostsIn(dir, "hdfs-hosts"); err != nil || strings.Count(strings.Join(hosts, " "), ip) != 1 {
				r.Fatalf("%s's hdfs-hosts: %v, %v; want %s once", id, hosts, err, ip)
			}
			b, err := os.ReadFile(filepath.Join(dir, "hdfs-hosts-json"))
			if err != nil || strings.Contains(string(b), "DECOMMISSIONED") || !strings.Contains(string(b), `{"hostName": "`+ip+`", "adminState": "NORMAL"}`) {
				r.Fatalf("%s's hdfs-hosts-json: %s, %v", id, b, err)
			}
		}
	})
	// The dead member is still in every view: it was the address that
	// moved.
	if err := checkViews(ctx, survivors, seenAs([]string{victim}, membership.StatusDead)); err != nil {
		t.Error(err)
	}
}

// An Auto Scaling group terminates its instance behind a lifecycle hook:
// IMDS says Terminated with no deadline. The agent drains (seen by the
// others, excluded at once), runs on_drain, then leaves and deletes its
// record right away, long before the hook times out and EC2 terminates it.
func TestAutoScalingTerminationDrains(t *testing.T) {
	needE2E(t)
	drain := "drain {\n  poll_interval = \"250ms\"\n  on_drain = \"echo $FARMHAND_DRAIN_REASON > $DIR/on_drain.out\"\n}\n"
	tb := startFarm(t, 2, func(c *Config) { c.InstanceHCL = renderHCL("2m", drain) })
	owned, err := tb.LaunchWith(testutil.Context(t), LaunchOptions{Count: 1, ASG: "web"})
	if err != nil {
		t.Fatal(err)
	}
	ids := tb.Instances()
	waitViews(t, formTimeout, socketsOf(t, tb.State(), ids...), aliveExactly(ids...))
	var rest []string
	for _, id := range ids {
		if id != owned[0] {
			rest = append(rest, id)
		}
	}
	ip := instanceIP(t, tb, owned[0])
	due, err := tb.AutoScalingTerminate(owned[0], 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	others := socketsOf(t, tb.State(), rest...)
	waitViews(t, detectTimeout, others, seenAs(owned, append(gone, membership.StatusDraining)...))
	testutil.Run(t, detectTimeout, func(r *testutil.R) {
		for _, id := range rest {
			if hosts, err := hostsIn(instanceDir(t, tb, id), "hdfs-exclude"); err != nil || strings.Join(hosts, " ") != ip {
				r.Fatalf("%s's hdfs-exclude %v, %v; want %s", id, hosts, err, ip)
			}
		}
	})
	waitViews(t, detectTimeout, others, seenAs(owned, gone...))
	leftGracefully(t, tb, owned[0])
	testutil.Run(t, detectTimeout, func(r *testutil.R) {
		if n := records(t, tb, owned[0]); n != 0 {
			r.Fatalf("%d records left", n)
		}
	})
	if in, _ := tb.EC2().Instance(owned[0]); in.State != ec2emu.StateRunning || !time.Now().Before(due) {
		t.Errorf("left and deregistered with the instance %s, %s before the hook's end", in.State, time.Until(due))
	}
	if b, err := os.ReadFile(filepath.Join(instanceDir(t, tb, owned[0]), "on_drain.out")); err != nil || strings.TrimSpace(string(b)) != "asg-termination" {
		t.Errorf("on_drain output %q, %v", b, err)
	}
}
