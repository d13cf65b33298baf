package render

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/farmhand/farmhand/membership"
)

func writeTemplate(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "custom.tmpl")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCompileDefaults(t *testing.T) {
	tg, err := Compile(Spec{Template: "hadoop-workers", Destination: filepath.Join(t.TempDir(), "workers"), WaitMin: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s := tg.Spec()
	if s.Name != "hadoop-workers" || s.Mode != DefaultMode || s.ReloadTimeout != DefaultReloadTimeout || s.WaitMax != 12*time.Second {
		t.Errorf("defaults not applied: %+v", s)
	}
}

func TestCompileErrors(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "out")
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	badParse := writeTemplate(t, "# header\n{{range .Members}}\n{{ .Name | nosuchfunc }}\n{{end}}\n")
	badField := writeTemplate(t, "{{.Memebers}}\n")
	cases := []struct {
		name string
		spec Spec
		want []string
	}{
		{"parse error names block, file and line",
			Spec{Name: "custom", Template: badParse, Destination: dest},
			[]string{`render "custom"`, badParse + ":3:", "nosuchfunc"}},
		{"execution error at load time",
			Spec{Name: "custom", Template: badField, Destination: dest},
			[]string{`render "custom"`, badField, "Memebers"}},
		{"unknown built-in",
			Spec{Name: "w", Template: "hadoop-worker", Destination: dest},
			[]string{`render "w"`, `"hadoop-worker" is not a built-in`, "hadoop-workers"}},
		{"empty template",
			Spec{Name: "w", Destination: dest},
			[]string{`render "w"`, "template is empty"}},
		{"missing directory",
			Spec{Name: "w", Template: "json", Destination: filepath.Join(dir, "nope", "out")},
			[]string{`render "w"`, "destination directory", "nope", "create it first"}},
		{"directory is a file",
			Spec{Name: "w", Template: "json", Destination: filepath.Join(notDir, "out")},
			[]string{`render "w"`, "not a directory"}},
		{"destination is a directory",
			Spec{Name: "w", Template: "json", Destination: dir},
			[]string{`render "w"`, "is a directory"}},
		{"relative destination",
			Spec{Name: "w", Template: "json", Destination: "out.json"},
			[]string{`render "w"`, "not an absolute path"}},
		{"wait_max below wait_min",
			Spec{Name: "w", Template: "json", Destination: dest, WaitMin: 5 * time.Second, WaitMax: time.Second},
			[]string{`render "w"`, "wait_max", "wait_min"}},
		{"bad status",
			Spec{Name: "w", Template: "json", Destination: dest, Filter: Filter{Status: []membership.Status{"zombie"}}},
			[]string{`render "w"`, `"zombie"`}},
		{"unknown owner",
			Spec{Name: "w", Template: "json", Destination: dest, Owner: "no-such-user-farmhand"},
			[]string{`render "w"`, "no-such-user-farmhand"}},
		{"unknown group",
			Spec{Name: "w", Template: "json", Destination: dest, Group: "no-such-group-farmhand"},
			[]string{`render "w"`, "no-such-group-farmhand"}},
		{"mode with type bits",
			Spec{Name: "w", Template: "json", Destination: dest, Mode: os.ModeDir | 0o755},
			[]string{`render "w"`, "mode"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Compile(c.spec)
			if err == nil {
				t.Fatal("Compile succeeded, want an error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
	// Probing the directory left nothing behind.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "file" {
		t.Errorf("directory holds %v after Compile, want only the test's own file", entries)
	}
}

func TestUserTemplateHelpers(t *testing.T) {
	p := writeTemplate(t, `live={{ .Members | live | hosts | join "," }}
gone={{ .All | withStatus "dead,left" | addrs | join "," }}
byaddr={{ range .All | sortBy "addr" }}{{ .Addr }} {{ end }}
byrole={{ range .All | sortBy "role" }}{{ tag . "role" }}/{{ .Name }} {{ end }}
tomcat={{ .All | withRole "tomcat" | live | addrs | join "," }}
az={{ .All | withTag "az" "eu-west-1a" | addrs | join "," }}
port={{ tagOr .Local "tomcat_port" "4000" }} {{ tomcatPort (index .All 0) }}
local={{ .Local.Name }} cluster={{ .Cluster }} n={{ len .Members }}/{{ len .All }}
missing=[{{ .Local.Tags.nosuchtag }}]
`)
	out, err := RenderOnce(p, NewData(testCluster, fixtureView(), fixtureLocal(), Filter{Role: "datanode"}))
	if err != nil {
		t.Fatal(err)
	}
	want := `live=10.0.1.2,10.0.1.3,10.0.1.11
gone=10.0.1.4,10.0.1.5,10.0.1.7
byaddr=10.0.1.1 10.0.1.2 10.0.1.3 10.0.1.4 10.0.1.5 10.0.1.6 10.0.1.7 10.0.1.9 10.0.1.10 10.0.1.11 
byrole=/i-0a09 datanode/i-0a02 datanode/i-0a03 datanode/i-0a04 datanode/i-0a05 datanode/i-0a11 namenode/i-0a01 tomcat/i-0a06 tomcat/i-0a07 tomcat/i-0a08 
tomcat=10.0.1.6,10.0.1.10
az=10.0.1.2
port=4100 4000
local=i-0a06 cluster=farm-test n=5/10
missing=[]
`
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

func TestHelperErrors(t *testing.T) {
	for _, text := range []string{`{{ .All | withStatus "zombie" }}`, `{{ .All | sortBy "" }}`} {
		_, err := RenderOnce(writeTemplate(t, text), NewData(testCluster, fixtureView(), fixtureLocal(), Filter{}))
		if err == nil {
			t.Errorf("%s rendered, want an error", text)
		}
	}
}

func TestFilterMatch(t *testing.T) {
	m := member("i-1", "10.0.0.1", membership.StatusSuspect, "role", "datanode", "az", "a")
	cases := []struct {
		f    Filter
		want bool
	}{
		{Filter{}, true},
		{Filter{Status: []membership.Status{membership.StatusAlive, membership.StatusSuspect}}, true},
		{Filter{Status: []membership.Status{membership.StatusAlive}}, false},
		{Filter{Role: "datanode"}, true},
		{Filter{Role: "namenode"}, false},
		{Filter{Tags: map[string]string{"az": "a"}}, true},
		{Filter{Tags: map[string]string{"az": "b"}}, false},
		{Filter{Tags: map[string]string{"rack": ""}}, false},
		{Filter{Role: "datanode", Tags: map[string]string{"az": "a"}, Status: []membership.Status{membership.StatusSuspect}}, true},
	}
	for _, c := range cases {
		if got := c.f.Match(m); got != c.want {
			t.Errorf("%+v.Match = %v, want %v", c.f, got, c.want)
		}
	}
}

func TestNewDataSortsWithoutTouchingInput(t *testing.T) {
	view := []membership.Member{
		member("b", "10.0.0.2", membership.StatusAlive),
		member("a", "10.0.0.9", membership.StatusAlive),
		member("a", "10.0.0.1", membership.StatusDead),
	}
	d := NewData(testCluster, view, view[0], Filter{Status: []membership.Status{membership.StatusAlive}})
	got := []string{}
	for _, m := range d.All {
		got = append(got, m.Name+"@"+m.Addr)
	}
	if strings.Join(got, " ") != "a@10.0.0.1 a@10.0.0.9 b@10.0.0.2" {
		t.Errorf("All = %v", got)
	}
	if len(d.Members) != 2 || d.Members[0].Addr != "10.0.0.9" || d.Members[1].Name != "b" {
		t.Errorf("Members = %+v", d.Members)
	}
	if view[0].Name != "b" {
		t.Errorf("NewData reordered its input")
	}
}

func TestTargetRenderFilters(t *testing.T) {
	tg, err := Compile(Spec{Template: "hadoop-workers", Destination: filepath.Join(t.TempDir(), "w"), Filter: Filter{Role: "datanode"}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := tg.Render(testCluster, fixtureView(), fixtureLocal())
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "hadoop-workers.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != string(want) {
		t.Errorf("Target.Render differs from RenderOnce's golden:\n%s", out)
	}
}

func TestIsBuiltin(t *testing.T) {
	for _, n := range Builtins() {
		if !IsBuiltin(n) {
			t.Errorf("IsBuiltin(%q) = false", n)
		}
	}
	for _, n := range []string{"", "nope", "../render/templates/json", "json.tmpl", "/etc/passwd"} {
		if IsBuiltin(n) {
			t.Errorf("IsBuiltin(%q) = true", n)
		}
	}
}
