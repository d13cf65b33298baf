package main

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestMembersTable(t *testing.T) {
	_, sock := apiAgent(t)
	r := apiCLI(t, nil, "members", "-socket", sock)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("want a header and 4 rows, got:\n%s", r.stdout)
	}
	for i, want := range [][]string{
		{"NAME", "ADDRESS", "STATUS", "ROLE", "AZ", "TAGS"},
		{"i-0aa", "10.0.0.1:7946", "alive", "master", "eu-west-1a", "-"},
		{"i-0bb", "10.0.0.2:7946", "alive", "worker", "eu-west-1a", "gpu=no,rack=r2"},
		{"i-0cc", "10.0.0.3:7946", "dead", "worker", "eu-west-1b", "-"},
		{"i-0dd", "10.0.0.4:7946", "alive", "worker", "eu-west-1b", "-"},
	} {
		if got := strings.Fields(lines[i]); !reflect.DeepEqual(got, want) {
			t.Errorf("line %d = %q, want %q", i, got, want)
		}
	}
	// Columns line up: every row starts its ADDRESS where the header does.
	col := strings.Index(lines[0], "ADDRESS")
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l[col:], "10.0.0.") {
			t.Errorf("row %q is not aligned with the header", l)
		}
	}
}

func TestMembersJSONAndFilters(t *testing.T) {
	_, sock := apiAgent(t)
	r := apiCLI(t, map[string]string{"FARMHAND_SOCKET": sock}, "members", "-status", "alive", "-role", "worker", "-format", "json")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
	var got map[string][]map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, r.stdout)
	}
	if len(got) != 1 || len(got["members"]) != 2 {
		t.Fatalf("want {\"members\": [2 members]}, got %s", r.stdout)
	}
	m := got["members"][0]
	for k, want := range map[string]any{"name": "i-0bb", "addr": "10.0.0.2", "port": 7946.0, "status": "alive"} {
		if m[k] != want {
			t.Errorf("member %s = %v, want %v", k, m[k], want)
		}
	}
	if tags, _ := m["tags"].(map[string]any); tags["rack"] != "r2" || tags["role"] != "worker" {
		t.Errorf("tags = %v", m["tags"])
	}
	if got["members"][1]["name"] != "i-0dd" {
		t.Errorf("second member %v, want i-0dd", got["members"][1]["name"])
	}
}

func TestMembersAddrs(t *testing.T) {
	_, sock := apiAgent(t)
	r := apiCLI(t, nil, "members", "-socket", sock, "-format", "addrs", "-tag", "az=eu-west-1b")
	if r.code != 0 || r.stdout != "10.0.0.3\n10.0.0.4\n" {
		t.Errorf("addrs: exit %d, stdout %q; want 0 and the two eu-west-1b addresses", r.code, r.stdout)
	}
	r = apiCLI(t, nil, "members", "-socket", sock, "-format", "addrs", "-tag", "az=eu-west-1a", "-tag", "rack=r2")
	if r.code != 0 || r.stdout != "10.0.0.2\n" {
		t.Errorf("two tags: exit %d, stdout %q; want 10.0.0.2 only", r.code, r.stdout)
	}
}

func TestMembersNoMatch(t *testing.T) {
	_, sock := apiAgent(t)
	r := apiCLI(t, nil, "members", "-socket", sock, "-role", "db")
	if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "no members match role=db") {
		t.Errorf("table: exit %d, stdout %q, stderr %q; want 2 with a message on stderr", r.code, r.stdout, r.stderr)
	}
	r = apiCLI(t, nil, "members", "-socket", sock, "-status", "left", "-format", "json")
	if r.code != 2 || strings.Join(strings.Fields(r.stdout), "") != `{"members":[]}` || r.stderr != "" {
		t.Errorf("json: exit %d, stdout %q, stderr %q; want 2 and {\"members\":[]}", r.code, r.stdout, r.stderr)
	}
	r = apiCLI(t, nil, "members", "-socket", sock, "-status", "suspect", "-format", "addrs")
	if r.code != 2 || r.stdout != "" || r.stderr != "" {
		t.Errorf("addrs: exit %d, stdout %q, stderr %q; want 2 and no output", r.code, r.stdout, r.stderr)
	}
}

func TestMembersUsageErrors(t *testing.T) {
	_, sock := apiAgent(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-status", "zombie"}, `unknown member status "zombie"`},
		{[]string{"-tag", "novalue"}, `bad tag "novalue"`},
		{[]string{"-format", "xml"}, `unknown format "xml"`},
		{[]string{"extra"}, "takes no arguments"},
	} {
		r := apiCLI(t, nil, append([]string{"members", "-socket", sock}, tc.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("members %v: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

func TestMembersAgentError(t *testing.T) {
	b, sock := apiAgent(t)
	b.FailWith(errors.New("view unavailable"))
	r := apiCLI(t, nil, "members", "-socket", sock)
	if r.code != 1 || !strings.Contains(r.stderr, "view unavailable") {
		t.Errorf("exit %d, stderr %q; want 1 with the agent's message", r.code, r.stderr)
	}
}
