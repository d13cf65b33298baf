package render

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/farmhand/farmhand/membership"
)

// admitsPlain is Hadoop's HostFileManager (dfs.hosts) and YARN's
// NodesListManager include check on a plain host list: lines are split on
// whitespace and cut at '#'; an empty include list admits every node,
// otherwise the node's host must be listed.
func admitsPlain(content, host string) bool {
	var hosts []string
	for _, line := range strings.Split(content, "\n") {
		line, _, _ = strings.Cut(line, "#")
		hosts = append(hosts, strings.Fields(line)...)
	}
	if len(hosts) == 0 {
		return true
	}
	for _, h := range hosts {
		if h == host {
			return true
		}
	}
	return false
}

// admitsJSON is Hadoop's CombinedHostFileManager on a dfs.hosts JSON
// array: when no entry is NORMAL ("emptyInServiceNodeLists") every
// DataNode is admitted, otherwise its host must be listed (in any state).
func admitsJSON(t *testing.T, content, host string) bool {
	t.Helper()
	var entries []struct {
		HostName   string `json:"hostName"`
		AdminState string `json:"adminState"`
	}
	if err := json.Unmarshal([]byte(content), &entries); err != nil {
		t.Fatalf("not a CombinedHostsFileReader array: %v\n%s", err, content)
	}
	listed, inService := false, false
	for _, e := range entries {
		listed = listed || e.HostName == host
		inService = inService || e.AdminState == "NORMAL"
	}
	return !inService || listed
}

// The JSON include list and the plain one admit the same DataNodes, and
// neither lets a stranger in, whatever the view: every member gone (a
// JSON list without a NORMAL entry would admit every DataNode), no member
// at all (an empty plain list would), or a mix.
func TestHadoopIncludeListsNeverAdmitAStranger(t *testing.T) {
	const stranger = "10.99.99.99"
	dn := func(name, addr string, st membership.Status) membership.Member {
		return member(name, addr, st, "role", "datanode")
	}
	views := map[string][]membership.Member{
		"all gone": {dn("i-0b01", "10.0.2.1", membership.StatusDead), dn("i-0b02", "10.0.2.2", membership.StatusLeft)},
		"empty":    nil,
		"mixed":    {dn("i-0b01", "10.0.2.1", membership.StatusAlive), dn("i-0b02", "10.0.2.2", membership.StatusDead), dn("i-0b03", "10.0.2.3", membership.StatusSuspect)},
	}
	local := member("i-0nn", "10.0.2.100", membership.StatusAlive, "role", "namenode")
	for name, view := range views {
		data := NewData(testCluster, view, local, Filter{Role: "datanode"})
		render := func(tmpl string) string {
			out, err := RenderOnce(tmpl, data)
			if err != nil {
				t.Fatalf("%s: %s: %v", name, tmpl, err)
			}
			return string(out)
		}
		plain, js, yarn := render("hdfs-hosts"), render("hdfs-hosts-json"), render("yarn-include")
		for _, host := range append([]string{stranger}, addrsOf(view)...) {
			p, j, y := admitsPlain(plain, host), admitsJSON(t, js, host), admitsPlain(yarn, host)
			if p != j || p != y {
				t.Errorf("%s: %s admitted by dfs.hosts %v, by the JSON %v, by the YARN include %v: want the same\n%s\n%s", name, host, p, j, y, plain, js)
			}
			if host == stranger && (p || j || y) {
				t.Errorf("%s: a DataNode that is no member (%s) is admitted:\n%s\n%s\n%s", name, host, plain, js, yarn)
			}
		}
	}
}

func addrsOf(ms []membership.Member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Addr)
	}
	return out
}

// A hostname tag Hadoop's reader would split or cut is never written: the
// host lists fall back to the member's address.
func TestHostnameTagThatHadoopWouldMisreadIsNotUsed(t *testing.T) {
	for _, bad := range []string{"dn 7", "dn\t7", "dn#7", "dn7 "} {
		if err := CheckHostname(bad); err == nil {
			t.Errorf("CheckHostname(%q) accepted it", bad)
		}
		m := member("i-0c01", "10.0.3.1", membership.StatusAlive, "hostname", bad)
		if got := hostOf(m); got != "10.0.3.1" {
			t.Errorf("hostOf with hostname tag %q = %q, want the address", bad, got)
		}
	}
	if err := CheckHostname("dn7.farm.internal"); err != nil {
		t.Errorf("a plain host name refused: %v", err)
	}
}
