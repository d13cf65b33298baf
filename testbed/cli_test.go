package testbed

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"

	"github.com/farmhand/farmhand/testbed/testutil"
)

// The chaos verbs, run through the real farmhand binary against a running
// testbed, act on it and report errors a user can act on.
func TestCLIVerbsDriveARunningTestbed(t *testing.T) {
	needE2E(t)
	tb := startFarm(t, 3, nil)
	dir := tb.Dir()
	ids := tb.Instances()

	// status -format json is testbed.json.
	out, errOut, code := runCLI(t, "status", "-format", "json", "-dir", dir)
	if code != 0 {
		t.Fatalf("status: exit %d: %s", code, errOut)
	}
	var st State
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status -format json is not a State: %v\n%s", err, out)
	}
	want := tb.State()
	if st.Cluster != want.Cluster || st.PID != want.PID || st.S3.Endpoint != want.S3.Endpoint ||
		st.EC2.Endpoint != want.EC2.Endpoint || len(st.Instances) != 3 {
		t.Fatalf("status json = %+v, want %+v", st, want)
	}
	for i, in := range st.Instances {
		w := want.Instances[i]
		if in.ID != w.ID || in.IP != w.IP || in.PID != w.PID || in.Socket != w.Socket || in.State != "running" || in.Agent != agentRunning {
			t.Errorf("status json instance %d = %+v, want %+v (running)", i, in, w)
		}
	}

	// crash ID: the agent is SIGKILLed and EC2 reports it impaired.
	victim := ids[0]
	if out, errOut, code := runCLI(t, "crash", victim, "-dir", dir); code != 0 || !strings.Contains(out, victim) {
		t.Fatalf("crash: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	in, _ := tb.State().Instance(victim)
	ei, _ := tb.EC2().Instance(victim)
	if in.Agent != agentKilled || processAlive(in.PID) || !ei.Impaired {
		t.Errorf("after crash: agent %q, pid %d running %v, EC2 impaired %v; want killed, not running, impaired",
			in.Agent, in.PID, processAlive(in.PID), ei.Impaired)
	}

	// An unknown id is an error that names the instances there are.
	_, errOut, code = runCLI(t, "crash", "i-0000000000000dead", "-dir", dir)
	if code != 1 || !strings.Contains(errOut, `no instance "i-0000000000000dead"`) {
		t.Errorf("crash of an unknown id: exit %d, stderr %q; want 1 and a message naming the id", code, errOut)
	}
	if _, errOut, code = runCLI(t, "crash", "-dir", dir); code != 2 || !strings.Contains(errOut, "instance id") {
		t.Errorf("crash without an id: exit %d, stderr %q; want usage error 2", code, errOut)
	}

	// s3 down / up.
	if _, errOut, code := runCLI(t, "s3", "down", "-dir", dir); code != 0 {
		t.Fatalf("s3 down: exit %d: %s", code, errOut)
	}
	if got := s3Status(t, st.S3.Endpoint+"/"+st.S3.Bucket); got != http.StatusServiceUnavailable {
		t.Errorf("after s3 down, a LIST got HTTP %d, want 503", got)
	}
	if _, errOut, code := runCLI(t, "s3", "up", "-dir", dir); code != 0 {
		t.Fatalf("s3 up: exit %d: %s", code, errOut)
	}
	if got := s3Status(t, st.S3.Endpoint+"/"+st.S3.Bucket); got != http.StatusOK {
		t.Errorf("after s3 up, a LIST got HTTP %d, want 200", got)
	}
	if _, errOut, code = runCLI(t, "s3", "sideways", "-dir", dir); code != 2 || !strings.Contains(errOut, "s3 down|up") {
		t.Errorf("s3 sideways: exit %d, stderr %q; want usage error 2", code, errOut)
	}

	// ec2 throttle on / off, seen through the SDK.
	if _, errOut, code := runCLI(t, "ec2", "throttle", "on", "-dir", dir); code != 0 {
		t.Fatalf("ec2 throttle on: exit %d: %s", code, errOut)
	}
	if code := ec2ErrorCode(t, tb); code != "RequestLimitExceeded" {
		t.Errorf("throttled DescribeInstances: error code %q, want RequestLimitExceeded", code)
	}
	if _, errOut, code := runCLI(t, "ec2", "throttle", "off", "-dir", dir); code != 0 {
		t.Fatalf("ec2 throttle off: exit %d: %s", code, errOut)
	}
	if code := ec2ErrorCode(t, tb); code != "" {
		t.Errorf("DescribeInstances after throttle off failed with %q", code)
	}

	// pause / resume show in testbed.json.
	if _, errOut, code := runCLI(t, "pause", ids[1], "-dir", dir); code != 0 {
		t.Fatalf("pause: exit %d: %s", code, errOut)
	}
	if s, _ := mustRead(t, dir).Instance(ids[1]); s.Agent != agentPaused {
		t.Errorf("after pause, testbed.json says agent %q, want paused", s.Agent)
	}
	if _, errOut, code := runCLI(t, "resume", ids[1], "-dir", dir); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, errOut)
	}
	if s, _ := mustRead(t, dir).Instance(ids[1]); s.Agent != agentRunning {
		t.Errorf("after resume, testbed.json says agent %q, want running", s.Agent)
	}

	// Partitions need -netns: a loopback testbed says so.
	_, errOut, code = runCLI(t, "partition", ids[1], "--", ids[2], "-dir", dir)
	if code != 1 || !strings.Contains(errOut, "partition needs a testbed started with -netns") {
		t.Errorf("partition without -netns: exit %d, stderr %q; want 1 and the -netns explanation", code, errOut)
	}
	if _, errOut, code = runCLI(t, "partition", ids[1], ids[2], "-dir", dir); code != 2 || !strings.Contains(errOut, "--") {
		t.Errorf("partition without --: exit %d, stderr %q; want usage error 2", code, errOut)
	}

	// Verbs against a directory with no testbed explain what to do.
	_, errOut, code = runCLI(t, "status", "-dir", shortDir(t))
	if code != 1 || !strings.Contains(errOut, "farmhand-testbed up") {
		t.Errorf("status without a testbed: exit %d, stderr %q; want 1 and how to start one", code, errOut)
	}
}

func mustRead(t *testing.T, dir string) *State {
	t.Helper()
	st, err := ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// s3Status is the HTTP status of an anonymous GET of url (the emulated S3
// accepts unsigned requests).
func s3Status(t *testing.T, url string) int {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// ec2ErrorCode calls DescribeInstances once (no SDK retries) and returns
// the API error code, or "" on success.
func ec2ErrorCode(t *testing.T, tb *Testbed) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := tb.ec2Client().DescribeInstances(ctx, &ec2.DescribeInstancesInput{}, func(o *ec2.Options) { o.RetryMaxAttempts = 1 })
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("DescribeInstances: %v (not an API error)", err)
	}
	return ae.ErrorCode()
}

// farmhand-testbed runs the farmhand beside it (or -bin, or $FARMHAND_BIN)
// and says in one line what is missing when it is not there, before it
// starts anything.
func TestMissingFarmhandBinaryIsOneClearLine(t *testing.T) {
	tbBin := testutil.TestbedBinary(t)
	dir := t.TempDir()
	alone := copyFile(t, tbBin, filepath.Join(dir, "farmhand-testbed"), 0o755)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"nothing beside it", nil, []string{"no farmhand binary at " + filepath.Join(dir, "farmhand"), "make build", "-bin"}},
		{"-bin missing", []string{"-bin", "/nonexistent/farmhand"}, []string{"no farmhand binary at /nonexistent/farmhand"}},
		{"-bin not farmhand", []string{"-bin", alone}, []string{"is not a farmhand agent binary", "farmhand-testbed version"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state := filepath.Join(dir, "state-"+strings.ReplaceAll(tc.name, " ", "-"))
			cmd := exec.Command(alone, append([]string{"up", "-nodes", "1", "-dir", state}, tc.args...)...)
			cmd.Env = envWithout("FARMHAND_BIN")
			code, out, errOut := testutil.RunCommand(t, cmd)
			if code != 1 {
				t.Fatalf("exit %d, want 1; stdout %q, stderr %q", code, out, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
			if _, err := os.Stat(filepath.Join(state, StateFile)); err == nil {
				t.Error("a testbed was started without a farmhand binary")
			}
		})
	}
}
