package render

import (
	"strings"
	"testing"

	"github.com/farmhand/farmhand/membership"
)

// reuseFilters is the filter each built-in is rendered with in the address
// reuse and draining tests: every member of the views below is a datanode.
func reuseFilter(name string) Filter {
	if name == "tomcat-static" {
		return Filter{}
	}
	return Filter{Role: "datanode"}
}

func renderView(t *testing.T, name string, view []membership.Member, local membership.Member) string {
	t.Helper()
	out, err := RenderOnce(name, NewData(testCluster, view, local, reuseFilter(name)))
	if err != nil {
		t.Fatalf("RenderOnce(%s): %v", name, err)
	}
	return string(out)
}

// TestBuiltinsAddressReuse: EC2 gave a dead member's address to a new,
// live instance while the dead one is still in the view (for the reap
// time). In every built-in template the new member renders exactly as if
// the old one had never been there: the live one wins, and the old one's
// exclusion ends when its address is taken. Shared by address, and by
// Hadoop host name (the "hostname" tag).
func TestBuiltinsAddressReuse(t *testing.T) {
	local := member("i-0d01", "10.0.4.1", membership.StatusAlive, "role", "datanode")
	cases := map[string]struct {
		old, fresh membership.Member
		host       string // the shared name as the Hadoop lists write it
	}{
		"same address": {
			old:   member("i-0dead", "10.0.4.2", membership.StatusDead, "role", "datanode"),
			fresh: member("i-0new", "10.0.4.2", membership.StatusAlive, "role", "datanode"),
			host:  "10.0.4.2",
		},
		"same address, left": {
			old:   member("i-0dead", "10.0.4.2", membership.StatusLeft, "role", "datanode"),
			fresh: member("i-0new", "10.0.4.2", membership.StatusSuspect, "role", "datanode"),
			host:  "10.0.4.2",
		},
		"same hostname": {
			old:   member("i-0dead", "10.0.4.7", membership.StatusDead, "role", "datanode", "hostname", "dn2.farm"),
			fresh: member("i-0new", "10.0.4.2", membership.StatusAlive, "role", "datanode", "hostname", "dn2.farm"),
			host:  "dn2.farm",
		},
	}
	for cname, c := range cases {
		for _, name := range Builtins() {
			t.Run(cname+"/"+name, func(t *testing.T) {
				without := []membership.Member{local, c.fresh}
				with := []membership.Member{c.old, local, c.fresh}
				got, want := renderView(t, name, with, local), renderView(t, name, without, local)
				if got != want {
					t.Errorf("with the old member still listed:\n%s\nwithout it:\n%s", got, want)
				}
				lines := strings.Split(got, "\n")
				switch name {
				case "hdfs-exclude", "yarn-exclude":
					if contains(lines, c.host) {
						t.Errorf("the live member's %s is excluded:\n%s", c.host, got)
					}
				case "hdfs-hosts", "yarn-include", "hadoop-workers":
					if !contains(lines, c.host) {
						t.Errorf("the live member's %s is not included:\n%s", c.host, got)
					}
				case "hdfs-hosts-json":
					if strings.Contains(got, "DECOMMISSIONED") || !strings.Contains(got, `"`+c.host+`"`) {
						t.Errorf("the live member's %s is not NORMAL:\n%s", c.host, got)
					}
				case "json", "etc-hosts":
					if strings.Contains(got, c.old.Name) || !strings.Contains(got, c.fresh.Name) {
						t.Errorf("want %s only, not %s:\n%s", c.fresh.Name, c.old.Name, got)
					}
				case "tomcat-static":
					if strings.Contains(got, TomcatUniqueID(c.old.Name)) || !strings.Contains(got, TomcatUniqueID(c.fresh.Name)) {
						t.Errorf("want %s only, not %s:\n%s", c.fresh.Name, c.old.Name, got)
					}
				}
			})
		}
	}
}

// TestAddressReuseKeepsOtherGoneMembers: only the address a live member
// holds is freed; a dead member on an address nobody took stays excluded,
// and two gone members sharing an address both stay.
func TestAddressReuseKeepsOtherGoneMembers(t *testing.T) {
	local := member("i-0d01", "10.0.4.1", membership.StatusAlive, "role", "datanode")
	view := []membership.Member{
		local,
		member("i-0d03", "10.0.4.3", membership.StatusDead, "role", "datanode"),
		member("i-0d04", "10.0.4.3", membership.StatusLeft, "role", "datanode"),
		member("i-0d05", "10.0.4.5", membership.StatusDead, "role", "datanode"),
	}
	got := renderView(t, "hdfs-exclude", view, local)
	if want := "10.0.4.3\n10.0.4.3\n10.0.4.5\n"; !strings.HasSuffix(got, want) {
		t.Errorf("hdfs-exclude:\n%s\nwant it to end with\n%s", got, want)
	}
}

// TestBuiltinsDraining: a draining member is still up, so it stays in the
// include lists and the lists of running nodes, and it is in every exclude
// list (DECOMMISSIONED in the JSON), so HDFS and YARN move work off it.
func TestBuiltinsDraining(t *testing.T) {
	local := member("i-0e01", "10.0.5.1", membership.StatusAlive, "role", "datanode")
	drain := member("i-0e02", "10.0.5.2", membership.StatusDraining, "role", "datanode")
	view := []membership.Member{local, drain}
	if got, want := len(Builtins()), 9; got != want {
		t.Fatalf("%d built-ins, this test knows %d: add the new one's draining rule here", got, want)
	}
	for _, name := range Builtins() {
		t.Run(name, func(t *testing.T) {
			got := renderView(t, name, view, local)
			lines := strings.Split(got, "\n")
			var ok bool
			switch name {
			case "hdfs-exclude", "yarn-exclude", "hdfs-hosts", "yarn-include", "hadoop-workers":
				ok = contains(lines, drain.Addr)
			case "hdfs-hosts-json":
				ok = strings.Contains(got, `{"hostName": "10.0.5.2", "adminState": "DECOMMISSIONED"}`) &&
					strings.Contains(got, `{"hostName": "10.0.5.1", "adminState": "NORMAL"}`)
			case "json":
				ok = strings.Contains(got, `"name": "i-0e02", "addr": "10.0.5.2", "port": 7946, "status": "draining"`)
			case "etc-hosts", "tomcat-static":
				ok = strings.Contains(got, drain.Name) || strings.Contains(got, TomcatUniqueID(drain.Name))
			default:
				t.Fatalf("no draining rule for built-in %s", name)
			}
			if !ok {
				t.Errorf("draining member %s (%s) misrendered:\n%s", drain.Name, drain.Addr, got)
			}
		})
	}
	// Every member draining: the JSON must still hold a NORMAL entry, or
	// Hadoop would admit every DataNode.
	local.Status = membership.StatusDraining
	got := renderView(t, "hdfs-hosts-json", []membership.Member{local, drain}, local)
	if !strings.Contains(got, `{"hostName": "0.0.0.0", "adminState": "NORMAL"}`) {
		t.Errorf("all draining: no NORMAL entry left:\n%s", got)
	}
	if admitsJSON(t, got, "10.0.5.99") {
		t.Errorf("all draining: the JSON admits a stranger:\n%s", got)
	}
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if strings.TrimSpace(l) == s {
			return true
		}
	}
	return false
}

// TestRunnerDrainSkipsStabilityWindow: a member that starts draining is in
// the exclude list at once, with the fake clock standing still, while a
// join waits out its window as before; the lists that do not change (a
// draining member is still a worker) are not rewritten.
func TestRunnerDrainSkipsStabilityWindow(t *testing.T) {
	h := newHarness(t, fixtureView(), fixtureLocal(), workersSpec(), excludeSpec())
	h.start()
	workers := h.read("workers")

	// A join alone waits for the window.
	h.view.add(member("i-0b01", "10.0.2.1", membership.StatusAlive, "role", "datanode"))
	h.notify()
	if st := h.status("workers"); !st.Pending || st.Writes != 1 {
		t.Fatalf("a join was applied before its window: %+v", st)
	}

	h.view.setStatus(t, "i-0a02", membership.StatusDraining)
	h.notify()
	st := h.wait("exclude", "the drain written", func(s TargetStatus) bool { return s.Writes == 2 })
	if !contains(strings.Split(h.read("exclude"), "\n"), "10.0.1.2") {
		t.Errorf("draining i-0a02 (10.0.1.2) not excluded at once:\n%s", h.read("exclude"))
	}
	if st.Pending || st.ReloadRuns != 2 {
		t.Errorf("exclude after the drain: %+v; want written and reloaded once", st)
	}
	// The workers file held the join: the drain applied it too.
	if st := h.status("workers"); st.Pending || st.Writes != 2 || h.read("workers") == workers {
		t.Errorf("workers after the drain: %+v", st)
	}
	if !strings.Contains(h.logs.String(), "a member is draining") {
		t.Errorf("the early apply is not logged:\n%s", h.logs.String())
	}

	// The same member still draining is no news: a later change waits.
	h.view.setStatus(t, "i-0a03", membership.StatusDead)
	h.notify()
	if st := h.status("exclude"); !st.Pending || st.Writes != 2 {
		t.Errorf("a death after the drain skipped the window: %+v", st)
	}
}
