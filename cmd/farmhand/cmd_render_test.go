package main

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/farmhand/farmhand/agent/localapi/localapitest"
	"github.com/farmhand/farmhand/membership"
)

// The fake agent of apiAgent: i-0aa is this node (master, 10.0.0.1);
// workers i-0bb (10.0.0.2, alive), i-0cc (10.0.0.3, dead) and i-0dd
// (10.0.0.4, alive, az eu-west-1b); cluster "prod".

func TestRenderBuiltinsFromAgent(t *testing.T) {
	_, sock := apiAgent(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-template", "hadoop-workers"}, "10.0.0.1\n10.0.0.2\n10.0.0.4\n"},
		{[]string{"-template", "hadoop-workers", "-role", "worker"}, "10.0.0.2\n10.0.0.4\n"},
		{[]string{"-template", "hdfs-exclude", "-role", "worker"},
			"# Managed by farmhand (cluster prod); do not edit. HDFS dfs.hosts.exclude: draining, dead or left members.\n10.0.0.3\n"},
		{[]string{"-template", "yarn-include", "-tag", "az=eu-west-1b"},
			"# Managed by farmhand (cluster prod); do not edit. YARN include list: all members.\n10.0.0.3\n10.0.0.4\n"},
		{[]string{"-template", "hdfs-hosts", "-status", "alive", "-role", "worker"},
			"# Managed by farmhand (cluster prod); do not edit. HDFS dfs.hosts: all members.\n10.0.0.2\n10.0.0.4\n"},
		{[]string{"-template", "etc-hosts", "-role", "worker"},
			"# BEGIN farmhand cluster prod\n10.0.0.2 i-0bb\n10.0.0.4 i-0dd\n# END farmhand cluster prod\n"},
	} {
		r := apiCLI(t, nil, append([]string{"render", "-socket", sock}, tc.args...)...)
		if r.code != 0 || r.stdout != tc.want || r.stderr != "" {
			t.Errorf("render %v: exit %d, stdout %q, stderr %q; want 0 and %q", tc.args, r.code, r.stdout, r.stderr, tc.want)
		}
	}
}

func TestRenderJSONFromAgent(t *testing.T) {
	_, sock := apiAgent(t)
	r := apiCLI(t, map[string]string{"FARMHAND_SOCKET": sock}, "render", "-template", "json", "-status", "dead")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
	var got struct {
		Members []struct {
			Name   string            `json:"name"`
			Addr   string            `json:"addr"`
			Port   int               `json:"port"`
			Status string            `json:"status"`
			Tags   map[string]string `json:"tags"`
		} `json:"members"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("json template output is not JSON: %v\n%s", err, r.stdout)
	}
	if len(got.Members) != 1 {
		t.Fatalf("-status dead: %d members, want i-0cc only:\n%s", len(got.Members), r.stdout)
	}
	m := got.Members[0]
	if m.Name != "i-0cc" || m.Addr != "10.0.0.3" || m.Port != 7946 || m.Status != "dead" ||
		m.Tags["role"] != "worker" || m.Tags["az"] != "eu-west-1b" {
		t.Errorf("member = %+v", m)
	}

	r = apiCLI(t, nil, "render", "-socket", sock, "-template", "hdfs-hosts-json", "-role", "worker")
	var hosts []struct {
		HostName   string `json:"hostName"`
		AdminState string `json:"adminState"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &hosts); err != nil || r.code != 0 {
		t.Fatalf("hdfs-hosts-json: exit %d, %v\n%s", r.code, err, r.stdout)
	}
	want := "10.0.0.2=NORMAL 10.0.0.3=DECOMMISSIONED 10.0.0.4=NORMAL"
	var parts []string
	for _, h := range hosts {
		parts = append(parts, h.HostName+"="+h.AdminState)
	}
	if got := strings.Join(parts, " "); got != want {
		t.Errorf("hdfs-hosts-json = %s, want %s", got, want)
	}
}

// The CLI finds this node in the view by the agent's name: the Tomcat
// file lists it and binds the receiver to it even when the filter leaves
// it out (it is the master here, the filter asks for workers).
func TestRenderTomcatIncludesLocalMember(t *testing.T) {
	_, sock := apiAgent(t)
	r := apiCLI(t, nil, "render", "-socket", sock, "-template", "tomcat-static", "-role", "worker")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
	var c struct {
		Channel struct {
			Members []struct {
				Host     string `xml:"host,attr"`
				Port     string `xml:"port,attr"`
				UniqueID string `xml:"uniqueId,attr"`
			} `xml:"Membership>Member"`
			Receiver struct {
				Address string `xml:"address,attr"`
				Port    string `xml:"port,attr"`
			} `xml:"Receiver"`
		} `xml:"Channel"`
	}
	if err := xml.Unmarshal([]byte(r.stdout), &c); err != nil {
		t.Fatalf("tomcat-static is not XML: %v\n%s", err, r.stdout)
	}
	var hosts []string
	for _, m := range c.Channel.Members {
		hosts = append(hosts, m.Host+":"+m.Port)
		if m.UniqueID == "" {
			t.Errorf("member %s has no uniqueId", m.Host)
		}
	}
	if got, want := strings.Join(hosts, " "), "10.0.0.1:4000 10.0.0.2:4000 10.0.0.4:4000"; got != want {
		t.Errorf("static members %s, want %s (the local master, then the live workers)", got, want)
	}
	if c.Channel.Receiver.Address != "10.0.0.1" || c.Channel.Receiver.Port != "4000" {
		t.Errorf("receiver %+v, want the local member 10.0.0.1:4000", c.Channel.Receiver)
	}
}

func TestRenderTemplateFile(t *testing.T) {
	_, sock := apiAgent(t)
	tmpl := filepath.Join(t.TempDir(), "brokers.tmpl")
	text := `{{.Cluster}} {{.Local.Name}}:{{range $i, $m := .Members | live}}{{if $i}},{{end}}{{hostOf $m}}:9092{{end}}` + "\n"
	if err := os.WriteFile(tmpl, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	r := apiCLI(t, nil, "render", "-socket", sock, "-template", tmpl, "-role", "worker")
	if want := "prod i-0aa:10.0.0.2:9092,10.0.0.4:9092\n"; r.code != 0 || r.stdout != want {
		t.Errorf("template file: exit %d, stdout %q, stderr %q; want 0 and %q", r.code, r.stdout, r.stderr, want)
	}
}

// -out writes the file atomically and only when its content changes; a
// relative path is taken from the working directory.
func TestRenderOutFile(t *testing.T) {
	b, sock := apiAgent(t)
	dir := t.TempDir()
	t.Chdir(dir)
	dest := filepath.Join(dir, "workers")
	renderOut := func() apiResult {
		return apiCLI(t, nil, "render", "-socket", sock, "-template", "hadoop-workers", "-role", "worker", "-out", "workers")
	}
	r := renderOut()
	if r.code != 0 || r.stdout != "" || r.stderr != "wrote "+dest+" (18 bytes)\n" {
		t.Fatalf("first -out: exit %d, stdout %q, stderr %q; want 0, nothing on stdout and a note on stderr", r.code, r.stdout, r.stderr)
	}
	wantFile(t, dest, "10.0.0.2\n10.0.0.4\n")
	fi, err := os.Stat(dest)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}

	r = renderOut()
	if r.code != 0 || r.stderr != dest+" unchanged\n" {
		t.Fatalf("second -out: exit %d, stderr %q; want 0 and %q", r.code, r.stderr, dest+" unchanged")
	}
	fi2, err := os.Stat(dest)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(fi, fi2) {
		t.Error("an unchanged rendering replaced the file")
	}

	b.SetMembers(
		apiMember("i-0aa", "10.0.0.1", membership.StatusAlive, "role=master"),
		apiMember("i-0dd", "10.0.0.4", membership.StatusSuspect, "role=worker"),
	)
	if r = renderOut(); r.code != 0 || !strings.HasPrefix(r.stderr, "wrote ") {
		t.Fatalf("after a change: exit %d, stderr %q; want 0 and a write", r.code, r.stderr)
	}
	wantFile(t, dest, "10.0.0.4\n")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want the destination only (no temporary files left)", len(entries))
	}
}

func TestRenderErrors(t *testing.T) {
	_, sock := apiAgent(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.tmpl")
	if err := os.WriteFile(bad, []byte("ok\n{{ nosuchfunc . }}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(localapitest.SocketDir(t), "none.sock")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no template", []string{"-socket", sock}, 2, "-template is required"},
		{"argument", []string{"-socket", sock, "-template", "json", "extra"}, 2, "takes no arguments"},
		{"bad status", []string{"-socket", sock, "-template", "json", "-status", "zombie"}, 2, `unknown member status "zombie"`},
		{"unknown template", []string{"-socket", sock, "-template", "hadoop-slaves"}, 1,
			`template "hadoop-slaves" is not a built-in (etc-hosts, hadoop-workers,`},
		{"template does not parse", []string{"-socket", sock, "-template", bad}, 1, bad + `:2: function "nosuchfunc" not defined`},
		{"missing -out directory", []string{"-socket", sock, "-template", "json", "-out", filepath.Join(dir, "no", "file")}, 1,
			"destination directory " + filepath.Join(dir, "no")},
		{"no agent", []string{"-socket", missing, "-template", "json"}, 1, "cannot reach the farmhand agent at " + missing},
	} {
		r := apiCLI(t, nil, append([]string{"render"}, tc.args...)...)
		if r.code != tc.code || r.stdout != "" || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want %d, no output and %q", tc.name, r.code, r.stdout, r.stderr, tc.code, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "no")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed -out created %s: %v", filepath.Join(dir, "no"), err)
	}
}

func TestRenderAgentError(t *testing.T) {
	b, sock := apiAgent(t)
	b.FailWith(errors.New("view unavailable"))
	r := apiCLI(t, nil, "render", "-socket", sock, "-template", "hadoop-workers")
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "view unavailable") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1 with the agent's message", r.code, r.stdout, r.stderr)
	}
}

func wantFile(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s = %q, want %q", path, got, want)
	}
}
