package main

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/farmhand/farmhand/agent/config"
)

// packagedConfig is what the .deb and .rpm install as
// /etc/farmhand/farmhand.hcl (dist/packaging/nfpm.yaml).
const packagedConfig = "../../dist/packaging/farmhand.hcl"

// TestPackagedConfigStopsAnUnconfiguredAgent: the packaged config sets
// nothing, so an agent started before the operator configures it (the unit
// is enabled on install) exits with a usage error naming every missing
// setting, and joins nothing.
func TestPackagedConfigStopsAnUnconfiguredAgent(t *testing.T) {
	code, _, stderr := runCLI(t, nil, "agent", "-config", packagedConfig, "-config-dir", t.TempDir())
	if code != exitUsage {
		t.Fatalf("agent with the packaged config: exit %d, want %d; stderr:\n%s", code, exitUsage, stderr)
	}
	src, err := os.ReadFile(packagedConfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Decode(packagedConfig, src)
	if err != nil {
		t.Fatal(err)
	}
	got := problemFields(config.Default().Merge(c).Validate())
	want := []string{"cluster", "gossip.keys", "registry.bucket"}
	if !slices.Equal(got, want) {
		t.Errorf("the packaged config leaves %q unset, want exactly %q", got, want)
	}
	for _, f := range want {
		if !strings.Contains(stderr, f+":") {
			t.Errorf("the agent's error does not name %s:\n%s", f, stderr)
		}
	}
}

// commentedSetting matches a commented-out line of HCL: "#cluster = ...",
// "#registry {", "#  bucket = ...", "#}". Prose comments do not match.
var commentedSetting = regexp.MustCompile(`^#\s*([a-z_]+\s*[={]|})`)

// TestPackagedConfigSettingsAreValid: the commented-out settings of the
// packaged config are valid once uncommented, and together they make a
// complete config, so the operator's first edit is removing '#'.
func TestPackagedConfigSettingsAreValid(t *testing.T) {
	src, err := os.ReadFile(packagedConfig)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	settings := 0
	for i, l := range lines {
		if commentedSetting.MatchString(l) {
			lines[i] = l[1:]
			settings++
		}
	}
	if settings < 4 {
		t.Fatalf("only %d commented-out settings in %s", settings, packagedConfig)
	}
	path := filepath.Join(t.TempDir(), "uncommented.hcl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.DecodeFile(path)
	if err != nil {
		t.Fatalf("uncommented packaged config:\n%s\n%v", strings.Join(lines, "\n"), err)
	}
	if err := config.Default().Merge(c).Validate(); err != nil {
		t.Errorf("uncommented packaged config does not validate: %v", err)
	}
	for _, f := range []string{"cluster", "role", "registry.bucket", "gossip.key_file"} {
		if !c.IsSet(f) {
			t.Errorf("uncommented packaged config does not set %s", f)
		}
	}
}

// problemFields lists, sorted, the fields named by the FieldErrors in err.
func problemFields(err error) []string {
	var out []string
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var fe *config.FieldError
		if errors.As(err, &fe) {
			out = append(out, fe.Field)
		}
	}
	if err != nil {
		walk(err)
	}
	slices.Sort(out)
	return out
}
