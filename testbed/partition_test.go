package testbed

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// healTimeout bounds how long a healed partition may take to merge. Merging
// needs one side to contact the other: the reconnect loop tries a random
// dead member every reconnect_interval (the local profile's 500 ms,
// jittered by +-50%), and a member left alone rediscovers through S3.
const healTimeout = 60 * time.Second

// In netns mode, `partition` (driven through the real CLI) splits a 5-node
// farm 2|3: each side sees its own members alive and the other side
// suspect or dead. `heal` merges the views back into one cluster without
// anyone being told to join: farmhand's partition healing does it. Close
// then removes every namespace and the bridge.
func TestNetnsPartitionSplitsAndHealMerges(t *testing.T) {
	tb, ids, all := startNetnsFarm(t, 5, "network namespaces for partitions")

	a, b := ids[:2], ids[2:]
	args := append(append(append([]string{"partition"}, a...), "--"), b...)
	if out, errOut, code := runCLI(t, append(args, "-dir", tb.Dir())...); code != 0 || !strings.Contains(out, "partition") {
		t.Fatalf("farmhand-testbed %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, out, errOut)
	}
	split := time.Now()
	notAlive := []membership.Status{membership.StatusSuspect, membership.StatusDead}
	waitViews(t, detectTimeout, socketsOf(t, tb.State(), a...), both(aliveExactly(a...), seenAs(b, notAlive...)))
	waitViews(t, detectTimeout, socketsOf(t, tb.State(), b...), both(aliveExactly(b...), seenAs(a, notAlive...)))
	t.Logf("views split %.1fs after partition", time.Since(split).Seconds())

	if out, errOut, code := runCLI(t, "heal", "-dir", tb.Dir()); code != 0 {
		t.Fatalf("farmhand-testbed heal: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	healed := time.Now()
	waitViews(t, healTimeout, all, aliveExactly(ids...))
	t.Logf("one cluster again %.1fs after heal", time.Since(healed).Seconds())

	dir, final := tb.Dir(), tb.State()
	if err := tb.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	assertTornDown(t, dir, final)
}

// In netns mode, `loss 100` (driven through the real CLI) drops every packet
// each instance sends, TCP as well as UDP: every agent ends up alone,
// holding the others dead. `loss 0` ends it, and the agents find each
// other again by themselves.
func TestNetnsLossDropsUDPAndTCP(t *testing.T) {
	tb, ids, all := startNetnsFarm(t, 3, "network namespaces for packet loss")

	if out, errOut, code := runCLI(t, "loss", "100", "-dir", tb.Dir()); code != 0 {
		t.Fatalf("farmhand testbed loss 100: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	for _, id := range ids {
		others := slices.DeleteFunc(slices.Clone(ids), func(o string) bool { return o == id })
		waitViews(t, detectTimeout, socketsOf(t, tb.State(), id), both(aliveExactly(id), seenAs(others, membership.StatusDead)))
	}
	if out, errOut, code := runCLI(t, "loss", "0", "-dir", tb.Dir()); code != 0 {
		t.Fatalf("farmhand testbed loss 0: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	waitViews(t, healTimeout, all, aliveExactly(ids...))
}

// startNetnsFarm starts n instances in network namespaces (root, ip and
// nft needed: why says what for) and waits until every one sees all n
// alive. It returns the farm, its instance ids and their sockets.
func startNetnsFarm(t *testing.T, n int, why string) (*Testbed, []string, map[string]string) {
	t.Helper()
	needE2E(t)
	testutil.NeedRoot(t, why)
	testutil.NeedTool(t, "ip", "apt-get install iproute2")
	testutil.NeedTool(t, "nft", "apt-get install nftables")
	tb := startFarm(t, n, func(c *Config) { c.Netns = true })
	ids := tb.Instances()
	all := socketsOf(t, tb.State(), ids...)
	waitViews(t, formTimeout, all, aliveExactly(ids...))
	return tb, ids, all
}
