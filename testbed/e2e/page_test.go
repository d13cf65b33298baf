package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/farmhand/farmhand/testbed/testutil"
)

// chromium runs Debian's chromium headless, isolated (a fresh profile, no
// proxy, no background networking: the only request is the page's), and
// returns its stdout. It fails the test when chromium fails.
func chromium(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := runChromium(t, bin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// runChromium is chromium, returning its failure (or an empty DOM) as an
// error, for polls that try again.
func runChromium(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--user-data-dir=" + t.TempDir(), "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--disable-extensions", "--disable-default-apps",
		"--no-proxy-server", "--window-size=1280,1600"}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	code, out, stderr := testutil.RunCommand(t, cmd)
	if code != 0 || (slices.Contains(args, "--dump-dom") && !strings.Contains(out, "</html>")) {
		return "", fmt.Errorf("chromium %v: exit %d, %d bytes out\n%s", args, code, len(out), stderr[max(0, len(stderr)-4000):])
	}
	return out, nil
}

// memberStatus is the status the page's DOM gives member id ("" absent).
func memberStatus(dom, id string) string {
	m := regexp.MustCompile(`id="member-` + regexp.QuoteMeta(id) + `" data-status="([a-z]+)"`).FindStringSubmatch(dom)
	if m == nil {
		return ""
	}
	return m[1]
}

// screenshotPath is where the page's screenshots go: .bench/ (ignored by
// git) at the repository's root.
func screenshotPath(t *testing.T, name string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
	bench := filepath.Join(dir, ".bench")
	if err := os.MkdirAll(bench, 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(bench, name)
}

// TestFarmPageInARealBrowser opens the farm page of a testbed farm (the
// coordinator on) in headless chromium: every member appears alive; after
// a crash, the crashed member shows up dead and its replacement alive,
// with the replacement in the decision timeline. It saves screenshots of
// both moments under .bench/. It also checks "farmhand status" from
// outside, against the farm's S3 alone, where the leader has published
// its view.
func TestFarmPageInARealBrowser(t *testing.T) {
	skipShort(t)
	bin := testutil.NeedTool(t, "chromium", "apt-get install chromium (CI installs it in .ci/run)")
	f := startFarm(t, farmOpts{nodes: 4, ui: true})
	st := f.tb.State()
	pageIn := st.Instances[0]
	if pageIn.Page == "" {
		t.Fatalf("the first instance serves no page: %+v", pageIn)
	}
	url := pageIn.Page

	dom := chromium(t, bin, "--dump-dom", url)
	for _, in := range st.Instances {
		if s := memberStatus(dom, in.ID); s != "alive" {
			t.Errorf("member %s is %q on the page, want alive", in.ID, s)
		}
	}
	for _, want := range []string{`http-equiv="refresh"`, `id="cluster">` + st.Cluster, `id="state">alive`, `id="leader">i-`} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(dom, "<script") {
		t.Errorf("the page has a script")
	}
	shot := screenshotPath(t, "farm-page.png")
	chromium(t, bin, "--screenshot="+shot, url)
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 10_000 {
		t.Fatalf("screenshot %s: %v (size %v)", shot, err, fi)
	}
	t.Logf("screenshot of the formed farm's page: %s", shot)

	// Crash a member that neither serves the page nor leads.
	leader, _ := f.leader()
	victim := f.others(pageIn.ID, leader.ID)[0]
	if err := f.tb.Crash(victim); err != nil {
		t.Fatal(err)
	}
	sawDead := false
	var replacement string
	f.eventually(healTimeout, func(r *testutil.R) {
		var err error
		if dom, err = runChromium(t, bin, "--dump-dom", url); err != nil {
			r.Fatalf("%v", err)
		}
		if s := memberStatus(dom, victim); s == "dead" {
			sawDead = true
		}
		if !sawDead {
			r.Fatalf("the crashed %s is %q on the page, not yet dead", victim, memberStatus(dom, victim))
		}
		reps := ReplacementsOf(f.tb.EC2(), victim)
		if len(reps) != 1 {
			r.Fatalf("%d replacements of %s launched", len(reps), victim)
		}
		replacement = reps[0].ID
		if s := memberStatus(dom, replacement); s != "alive" {
			r.Fatalf("the replacement %s is %q on the page, not yet alive", replacement, s)
		}
		if !regexp.MustCompile(`data-action="launch"[^\n]*` + regexp.QuoteMeta(replacement)).MatchString(dom) {
			r.Fatalf("the decision timeline does not show the launch of %s yet", replacement)
		}
	})
	if s := memberStatus(dom, victim); s != "dead" && s != "left" && s != "" {
		t.Errorf("after its replacement, the crashed %s is %q on the page", victim, s)
	}
	shot = screenshotPath(t, "farm-page-replaced.png")
	chromium(t, bin, "--screenshot="+shot, url)
	t.Logf("screenshot after %s crashed and %s replaced it: %s", victim, replacement, shot)

	// From outside: farmhand status reads S3 alone; the leader has
	// published the view (within a minute of the change).
	var out string
	f.eventually(healTimeout+time.Minute, func(r *testutil.R) {
		cmd := exec.Command(testutil.FarmhandBinary(t), "status", "-endpoint", st.S3.Endpoint, "-path-style",
			"-bucket", st.S3.Bucket, "-cluster", st.Cluster, "-prefix", st.S3.Prefix, "-region", st.S3.Region)
		home := t.TempDir()
		cmd.Env = []string{"HOME=" + home, "AWS_ACCESS_KEY_ID=outside", "AWS_SECRET_ACCESS_KEY=outside",
			"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=" + home + "/none", "AWS_SHARED_CREDENTIALS_FILE=" + home + "/none"}
		code, stdout, stderr := testutil.RunCommand(t, cmd)
		out = stdout
		if code != 0 {
			r.Fatalf("farmhand status: exit %d\n%s%s", code, stdout, stderr)
		}
		if !regexp.MustCompile(`\s` + regexp.QuoteMeta(replacement) + `\s+\S+\s+alive`).MatchString(stdout) {
			r.Fatalf("the published view does not have %s alive yet:\n%s", replacement, stdout)
		}
	})
	for _, want := range []string{"bucket:  answers HEAD", "view:    index ", "lease:   held by " + leader.ID, "launch"} {
		if !strings.Contains(out, want) {
			t.Errorf("farmhand status lacks %q:\n%s", want, out)
		}
	}
	t.Logf("farmhand status from outside:\n%s", out)
}
