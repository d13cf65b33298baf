package render

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/farmhand/farmhand/membership"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current templates")

func renderFixture(t *testing.T, name string, f Filter) []byte {
	t.Helper()
	out, err := RenderOnce(name, NewData(testCluster, fixtureView(), fixtureLocal(), f))
	if err != nil {
		t.Fatalf("RenderOnce(%s): %v", name, err)
	}
	return out
}

func TestBuiltinsGolden(t *testing.T) {
	if got, want := len(Builtins()), len(goldenCases); got != want {
		t.Fatalf("%d built-in templates but %d golden cases; add a case for every built-in: %v", got, want, Builtins())
	}
	for _, name := range Builtins() {
		f, ok := goldenCases[name]
		if !ok {
			t.Fatalf("built-in %q has no golden case", name)
		}
		t.Run(name, func(t *testing.T) {
			got := renderFixture(t, name, f)
			again := renderFixture(t, name, f)
			if !bytes.Equal(got, again) {
				t.Fatalf("two renders of the same view differ:\n%s\n---\n%s", got, again)
			}
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestBuiltinsGolden -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s (rerun with -update if the change is intended)\n--- got\n%s\n--- want\n%s", name, path, got, want)
			}
		})
	}
}

// names returns the sorted names of the fixture members that pass keep.
func fixtureNames(keep func(membership.Member) bool) []string {
	var out []string
	for _, m := range fixtureView() {
		if keep(m) {
			out = append(out, m.Name)
		}
	}
	sort.Strings(out)
	return out
}

func fixtureByHost() map[string]membership.Member {
	out := map[string]membership.Member{}
	for _, m := range fixtureView() {
		out[hostOf(m)] = m
	}
	return out
}

func TestHadoopListsSplitLiveAndGone(t *testing.T) {
	hostsOf := func(out []byte) []string {
		var hosts []string
		for _, line := range strings.Split(string(out), "\n") {
			if line != "" && !strings.HasPrefix(line, "#") {
				hosts = append(hosts, line)
			}
		}
		return hosts
	}
	byHost := fixtureByHost()
	datanode := Filter{Role: "datanode"}
	check := func(tmpl string, f Filter, want func(membership.Member) bool) {
		t.Helper()
		var got []string
		for _, h := range hostsOf(renderFixture(t, tmpl, f)) {
			m, ok := byHost[h]
			if !ok {
				t.Fatalf("%s lists unknown host %q", tmpl, h)
			}
			got = append(got, m.Name)
		}
		sort.Strings(got)
		exp := fixtureNames(func(m membership.Member) bool { return f.Match(m) && want(m) })
		if strings.Join(got, " ") != strings.Join(exp, " ") {
			t.Errorf("%s lists %v, want %v", tmpl, got, exp)
		}
	}
	check("hadoop-workers", datanode, isLive)
	check("hdfs-hosts", datanode, func(membership.Member) bool { return true })
	check("hdfs-exclude", datanode, isExcluded)
	check("yarn-include", Filter{}, func(membership.Member) bool { return true })
	check("yarn-exclude", Filter{}, isExcluded)
	// A member with a hostname tag is listed by that name, others by IP.
	if out := string(renderFixture(t, "hdfs-exclude", datanode)); !strings.Contains(out, "dn4.farm.internal\n") {
		t.Errorf("hdfs-exclude does not use the hostname tag of i-0a04:\n%s", out)
	}
}

// tomcatCluster is the part of the Tomcat <Cluster> element the test reads.
type tomcatCluster struct {
	XMLName   xml.Name `xml:"Cluster"`
	ClassName string   `xml:"className,attr"`
	Channel   struct {
		Membership struct {
			ClassName string `xml:"className,attr"`
			Members   []struct {
				ClassName string `xml:"className,attr"`
				Host      string `xml:"host,attr"`
				Port      string `xml:"port,attr"`
				UniqueID  string `xml:"uniqueId,attr"`
			} `xml:"Member"`
		} `xml:"Membership"`
		Receiver struct {
			Address string `xml:"address,attr"`
			Port    string `xml:"port,attr"`
		} `xml:"Receiver"`
	} `xml:"Channel"`
}

// parseTomcatUniqueID parses a uniqueId the way Tomcat's
// Arrays.fromString does: "{" first, tokens split on "{,}", each token
// parsed as a signed byte.
func parseTomcatUniqueID(t *testing.T, s string) []byte {
	t.Helper()
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		t.Fatalf("uniqueId %q is not {b0,...}", s)
	}
	toks := strings.FieldsFunc(s, func(r rune) bool { return r == '{' || r == ',' || r == '}' })
	out := make([]byte, 0, len(toks))
	for _, tok := range toks {
		v, err := strconv.ParseInt(tok, 10, 8)
		if err != nil {
			t.Fatalf("uniqueId %q: token %q is not a Java byte: %v", s, tok, err)
		}
		out = append(out, byte(int8(v)))
	}
	return out
}

func TestTomcatStaticParsesAndMatchesTomcatRules(t *testing.T) {
	out := renderFixture(t, "tomcat-static", Filter{Role: "tomcat"})
	var c tomcatCluster
	if err := xml.Unmarshal(out, &c); err != nil {
		t.Fatalf("tomcat-static is not XML: %v\n%s", err, out)
	}
	if c.ClassName != "org.apache.catalina.ha.tcp.SimpleTcpCluster" {
		t.Errorf("Cluster className = %q", c.ClassName)
	}
	if got := c.Channel.Membership.ClassName; got != "org.apache.catalina.tribes.membership.StaticMembershipService" {
		t.Errorf("Membership className = %q", got)
	}
	byAddr := map[string]membership.Member{}
	for _, m := range fixtureView() {
		byAddr[m.Addr] = m
	}
	var names []string
	seen := map[string]bool{}
	local := 0
	for _, x := range c.Channel.Membership.Members {
		if x.ClassName != "org.apache.catalina.tribes.membership.StaticMember" {
			t.Errorf("Member className = %q", x.ClassName)
		}
		m, ok := byAddr[x.Host]
		if !ok {
			t.Fatalf("Member host %q is not in the view", x.Host)
		}
		names = append(names, m.Name)
		id := parseTomcatUniqueID(t, x.UniqueID)
		sum := sha256.Sum256([]byte(m.Name))
		if !bytes.Equal(id, sum[:16]) {
			t.Errorf("uniqueId of %s = %v, want first 16 bytes of SHA-256(instance id) %v", m.Name, id, sum[:16])
		}
		if seen[x.UniqueID] {
			t.Errorf("uniqueId %s appears twice", x.UniqueID)
		}
		seen[x.UniqueID] = true
		wantPort := m.Tags[TagTomcatPort]
		if wantPort == "" {
			wantPort = DefaultTomcatPort
		}
		if x.Port != wantPort {
			t.Errorf("port of %s = %q, want %q", m.Name, x.Port, wantPort)
		}
		// Tomcat 9.0.17+ finds the local member as the one whose host and
		// port equal the Receiver's address and port.
		if x.Host == c.Channel.Receiver.Address && x.Port == c.Channel.Receiver.Port {
			local++
		}
	}
	want := fixtureNames(func(m membership.Member) bool { return m.Tags["role"] == "tomcat" && isLive(m) })
	sort.Strings(names)
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("static members %v, want the live tomcat members %v", names, want)
	}
	if local != 1 {
		t.Errorf("%d members match the Receiver %s:%s, Tomcat needs exactly 1", local, c.Channel.Receiver.Address, c.Channel.Receiver.Port)
	}
	if c.Channel.Receiver.Address != fixtureLocal().Addr {
		t.Errorf("Receiver address %q, want the local member's %q", c.Channel.Receiver.Address, fixtureLocal().Addr)
	}
}

func TestTomcatStaticAlwaysListsLocal(t *testing.T) {
	// The filter leaves out the local node; Tomcat still needs it listed.
	local := fixtureLocal()
	out, err := RenderOnce("tomcat-static", NewData(testCluster, fixtureView(), local, Filter{Role: "datanode"}))
	if err != nil {
		t.Fatal(err)
	}
	var c tomcatCluster
	if err := xml.Unmarshal(out, &c); err != nil {
		t.Fatalf("not XML: %v", err)
	}
	found := false
	for _, x := range c.Channel.Membership.Members {
		if x.Host == local.Addr && x.UniqueID == TomcatUniqueID(local.Name) {
			found = true
		}
	}
	if !found {
		t.Errorf("local member %s missing from\n%s", local.Addr, out)
	}
}

func TestHDFSHostsJSONParses(t *testing.T) {
	out := renderFixture(t, "hdfs-hosts-json", Filter{Role: "datanode"})
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	var entries []struct {
		HostName   string `json:"hostName"`
		AdminState string `json:"adminState"`
	}
	if err := dec.Decode(&entries); err != nil {
		t.Fatalf("hdfs-hosts-json is not the CombinedHostFileManager array: %v\n%s", err, out)
	}
	byHost := fixtureByHost()
	var names []string
	for _, e := range entries {
		m, ok := byHost[e.HostName]
		if !ok {
			t.Fatalf("unknown hostName %q", e.HostName)
		}
		names = append(names, m.Name)
		want := "NORMAL"
		if m.Status == membership.StatusDead || m.Status == membership.StatusLeft || m.Status == membership.StatusDraining {
			want = "DECOMMISSIONED"
		}
		if e.AdminState != want {
			t.Errorf("%s (%s) adminState %q, want %q", m.Name, m.Status, e.AdminState, want)
		}
	}
	sort.Strings(names)
	want := fixtureNames(func(m membership.Member) bool { return m.Tags["role"] == "datanode" })
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("hosts %v, want every datanode %v", names, want)
	}
}

func TestJSONMatchesView(t *testing.T) {
	out := renderFixture(t, "json", Filter{})
	var doc struct {
		Members []struct {
			Name   string            `json:"name"`
			Addr   string            `json:"addr"`
			Port   int               `json:"port"`
			Status membership.Status `json:"status"`
			Tags   map[string]string `json:"tags"`
		} `json:"members"`
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("json is not valid: %v\n%s", err, out)
	}
	want := sortedMembers(fixtureView())
	if len(doc.Members) != len(want) {
		t.Fatalf("%d members, want %d", len(doc.Members), len(want))
	}
	for i, m := range doc.Members {
		w := want[i]
		if m.Name != w.Name || m.Addr != w.Addr || m.Port != w.Port || m.Status != w.Status || len(m.Tags) != len(w.Tags) {
			t.Errorf("member %d = %+v, want %+v", i, m, w)
		}
		for k, v := range w.Tags {
			if m.Tags[k] != v {
				t.Errorf("member %s tag %s = %q, want %q", w.Name, k, m.Tags[k], v)
			}
		}
	}
}

func TestEtcHostsFragment(t *testing.T) {
	out := string(renderFixture(t, "etc-hosts", Filter{}))
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if lines[0] != "# BEGIN farmhand cluster "+testCluster || lines[len(lines)-1] != "# END farmhand cluster "+testCluster {
		t.Fatalf("markers missing:\n%s", out)
	}
	byAddr := map[string]membership.Member{}
	for _, m := range fixtureView() {
		byAddr[m.Addr] = m
	}
	var names []string
	for _, l := range lines[1 : len(lines)-1] {
		f := strings.Fields(l)
		m, ok := byAddr[f[0]]
		if !ok {
			t.Fatalf("line %q: unknown address", l)
		}
		if f[len(f)-1] != m.Name {
			t.Errorf("line %q does not end with the instance id %s", l, m.Name)
		}
		if h := m.Tags["hostname"]; h != "" && (len(f) != 3 || f[1] != h) {
			t.Errorf("line %q: want canonical name %s second", l, h)
		}
		names = append(names, m.Name)
	}
	sort.Strings(names)
	if want := fixtureNames(isLive); strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("hosts lines for %v, want live members %v", names, want)
	}
}

func TestBuiltinsOnEmptyView(t *testing.T) {
	local := member("i-solo", "10.9.9.9", membership.StatusAlive)
	for _, name := range Builtins() {
		out, err := RenderOnce(name, NewData(testCluster, nil, local, Filter{}))
		if err != nil {
			t.Errorf("%s on an empty view: %v", name, err)
			continue
		}
		switch name {
		case "hdfs-hosts-json", "json":
			var v any
			if err := json.Unmarshal(out, &v); err != nil {
				t.Errorf("%s on an empty view is not JSON: %v\n%s", name, err, out)
			}
		case "tomcat-static":
			var c tomcatCluster
			if err := xml.Unmarshal(out, &c); err != nil || len(c.Channel.Membership.Members) != 1 {
				t.Errorf("tomcat-static on an empty view: err %v, %d members, want only the local one", err, len(c.Channel.Membership.Members))
			}
		}
	}
}
