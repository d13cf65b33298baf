package testbed

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/farmhand/farmhand/membership"
)

// quietWindow is how long a steady farm is watched for S3 requests: several
// of the local profile's longest isolation backoffs (4 s), so an agent that
// believed itself isolated would list the registry at least twice.
const quietWindow = 12 * time.Second

// TestSteadyStateMakesNoS3Requests runs 8 real agents over a registry
// holding 1,000 stale records (agents that crashed long ago and were never
// pruned), then crashes 5 of the 8. In both steady states every agent must
// make zero S3 requests: isolation is judged from gossip, not from the
// registry's count of records. Before, every agent compared its alive count
// with the records listed, looked isolated, and listed the prefix every few
// seconds for good (3 survivors of 8 made 109 requests in 120 s on
// versitygw).
func TestSteadyStateMakesNoS3Requests(t *testing.T) {
	needE2E(t)
	tb := startFarm(t, 0, nil)
	st := tb.State()
	for i := range 1000 {
		id := fmt.Sprintf("i-%017x", 0xdead0000+i)
		key := fmt.Sprintf("%s/%s/nodes/%s/us-east-1a/127.21.%d.%d:7946", st.S3.Prefix, st.Cluster, id, i/250, 1+i%250)
		if _, err := tb.S3().Backend().PutObject(st.S3.Bucket, key, nil, strings.NewReader("{}"), 2, nil); err != nil {
			t.Fatalf("writing stale record %d: %v", i, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), formTimeout)
	defer cancel()
	ids, err := tb.Launch(ctx, 8)
	if err != nil {
		t.Fatal(err)
	}
	waitViews(t, formTimeout, socketsOf(t, tb.State(), ids...), aliveExactly(ids...))
	quiet(t, tb, ids, "8 agents formed over 1,000 stale records")

	survivors, crashed := ids[:3], ids[3:]
	for _, id := range crashed {
		if err := tb.Crash(id); err != nil {
			t.Fatal(err)
		}
	}
	waitViews(t, detectTimeout, socketsOf(t, tb.State(), survivors...),
		both(aliveExactly(survivors...), seenAs(crashed, membership.StatusDead)))
	quiet(t, tb, survivors, "3 survivors of 8, 5 crashed")
}

// quiet resets the S3 counters and fails if any of ids sends a request
// within quietWindow.
func quiet(t *testing.T, tb *Testbed, ids []string, what string) {
	t.Helper()
	ips := map[string]string{}
	for _, id := range ids {
		in, err := tb.State().Instance(id)
		if err != nil {
			t.Fatal(err)
		}
		ips[id] = in.IP
	}
	tb.S3().ResetCounts()
	deadline := time.Now().Add(quietWindow)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		for id, ip := range ips {
			if c := tb.S3().CountsFrom(ip); c.Total() != 0 {
				t.Fatalf("%s: agent %s made %d S3 requests in steady state (%+v), want 0", what, id, c.Total(), c)
			}
		}
		<-tick.C
	}
}
