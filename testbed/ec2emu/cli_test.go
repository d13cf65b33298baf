package ec2emu

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/farmhand/farmhand/testbed/testutil"
)

// awsCLI finds a working AWS CLI, preferring Debian's /usr/bin/aws over
// other aws binaries on PATH. Without one the test skips, or fails when
// CI=true.
func awsCLI(t *testing.T) string {
	t.Helper()
	candidates := []string{"/usr/bin/aws"}
	if p, err := exec.LookPath("aws"); err == nil {
		candidates = append(candidates, p)
	}
	for _, bin := range candidates {
		if out, err := exec.Command(bin, "--version").CombinedOutput(); err == nil && strings.HasPrefix(string(out), "aws-cli/") {
			return bin
		}
	}
	msg := "no working AWS CLI (tried /usr/bin/aws and PATH): install it with `apt-get install awscli`"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// cli runs one aws command against e and returns its stdout; a non-zero
// exit returns stderr as the error text.
func cli(t *testing.T, bin string, e *Server, args ...string) (string, string, bool) {
	t.Helper()
	return cliAs(t, bin, e, "AKIDEXAMPLE", args...)
}

// cliAs is cli with the credentials of access key id key.
func cliAs(t *testing.T, bin string, e *Server, key string, args ...string) (string, string, bool) {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.CommandContext(ctx(t), bin, append(args, "--endpoint-url", e.URL(), "--output", "json", "--no-cli-pager")...)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"AWS_ACCESS_KEY_ID=" + key,
		"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AWS_MAX_ATTEMPTS=1",
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err == nil
}

func cliJSON(t *testing.T, bin string, e *Server, v any, args ...string) {
	t.Helper()
	out, errOut, ok := cli(t, bin, e, args...)
	if !ok {
		t.Fatalf("aws %s failed: %s", strings.Join(args, " "), errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("aws %s printed unparsable JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
}

type cliInstance struct {
	InstanceID       string `json:"InstanceId"`
	PrivateIPAddress string `json:"PrivateIpAddress"`
	State            struct {
		Code int
		Name string
	}
	Tags []struct{ Key, Value string }
}

func TestAWSCLI(t *testing.T) {
	bin := awsCLI(t)
	e := startServer(t, nil)

	var ran struct {
		ReservationID string `json:"ReservationId"`
		Instances     []cliInstance
	}
	cliJSON(t, bin, e, &ran, "ec2", "run-instances", "--image-id", "ami-0123456789abcdef0", "--count", "2",
		"--instance-type", "t3.micro", "--client-token", "cli-token-1", "--user-data", "hello from cli",
		"--tag-specifications", "ResourceType=instance,Tags=[{Key=cluster,Value=x},{Key=role,Value=db}]")
	if len(ran.Instances) != 2 || !reReservationID.MatchString(ran.ReservationID) {
		t.Fatalf("run-instances: %+v", ran)
	}
	ids := []string{ran.Instances[0].InstanceID, ran.Instances[1].InstanceID}
	for _, inst := range ran.Instances {
		if !reInstanceID.MatchString(inst.InstanceID) || inst.State.Name != "pending" || inst.PrivateIPAddress == "" || len(inst.Tags) != 2 {
			t.Errorf("run-instances instance: %+v", inst)
		}
		if snap, _ := e.Instance(inst.InstanceID); string(snap.UserData) != "hello from cli" {
			t.Errorf("the CLI's user data arrived as %q", snap.UserData)
		}
	}
	cliJSON(t, bin, e, &ran, "ec2", "run-instances", "--image-id", "ami-0123456789abcdef0", "--count", "2",
		"--instance-type", "t3.micro", "--client-token", "cli-token-1", "--user-data", "hello from cli",
		"--tag-specifications", "ResourceType=instance,Tags=[{Key=cluster,Value=x},{Key=role,Value=db}]")
	if n := len(e.Instances()); n != 2 || ran.Instances[0].InstanceID != ids[0] {
		t.Errorf("repeating run-instances with the same --client-token made %d instances", n)
	}

	var desc struct {
		Reservations []struct{ Instances []cliInstance }
	}
	cliJSON(t, bin, e, &desc, "ec2", "describe-instances", "--filters", "Name=tag:cluster,Values=x", "Name=instance-state-name,Values=pending,running")
	if len(desc.Reservations) != 1 || len(desc.Reservations[0].Instances) != 2 {
		t.Fatalf("describe-instances by tag: %+v", desc)
	}
	cliJSON(t, bin, e, &desc, "ec2", "describe-instances", "--filters", "Name=tag:cluster,Values=y")
	if len(desc.Reservations) != 0 {
		t.Errorf("describe-instances for another cluster found %+v", desc)
	}
	// The CLI follows NextToken by itself when given a page size.
	more := run(t, sdkClient(t, e), 6, nil)
	cliJSON(t, bin, e, &desc, "ec2", "describe-instances", "--page-size", "5")
	var listed []string
	for _, r := range desc.Reservations {
		for _, inst := range r.Instances {
			listed = append(listed, inst.InstanceID)
		}
	}
	if want := append(append([]string{}, ids...), more...); !equal(listed, want) {
		t.Errorf("describe-instances --page-size 5 listed %v, want %v", listed, want)
	}

	for _, id := range ids {
		if err := e.SetState(id, StateRunning); err != nil {
			t.Fatal(err)
		}
	}
	var status struct {
		InstanceStatuses []struct {
			InstanceID     string `json:"InstanceId"`
			InstanceStatus struct{ Status string }
		}
	}
	cliJSON(t, bin, e, &status, "ec2", "describe-instance-status", "--instance-ids", ids[0])
	if len(status.InstanceStatuses) != 1 || status.InstanceStatuses[0].InstanceStatus.Status != "ok" {
		t.Errorf("describe-instance-status: %+v", status)
	}

	if _, errOut, ok := cli(t, bin, e, "ec2", "create-tags", "--resources", ids[0], "--tags", "Key=replaces,Value=i-0aaaaaaaaaaaaaaa1"); !ok {
		t.Fatalf("create-tags: %s", errOut)
	}
	if snap, _ := e.Instance(ids[0]); snap.Tags["replaces"] != "i-0aaaaaaaaaaaaaaa1" {
		t.Errorf("create-tags did not tag: %v", snap.Tags)
	}

	var stop struct {
		StoppingInstances []struct {
			CurrentState, PreviousState struct{ Name string }
		}
	}
	cliJSON(t, bin, e, &stop, "ec2", "stop-instances", "--instance-ids", ids[1])
	if len(stop.StoppingInstances) != 1 || stop.StoppingInstances[0].CurrentState.Name != "stopping" {
		t.Errorf("stop-instances: %+v", stop)
	}

	var term struct {
		TerminatingInstances []struct {
			InstanceID                  string `json:"InstanceId"`
			CurrentState, PreviousState struct {
				Code int
				Name string
			}
		}
	}
	cliJSON(t, bin, e, &term, "ec2", "terminate-instances", "--instance-ids", ids[0])
	if len(term.TerminatingInstances) != 1 || term.TerminatingInstances[0].InstanceID != ids[0] ||
		term.TerminatingInstances[0].PreviousState.Name != "running" || term.TerminatingInstances[0].CurrentState.Code != 32 {
		t.Errorf("terminate-instances: %+v", term)
	}

	_, errOut, ok := cli(t, bin, e, "ec2", "describe-instances", "--instance-ids", "i-0123456789abcdef0")
	if ok || !strings.Contains(errOut, "InvalidInstanceID.NotFound") {
		t.Errorf("describe-instances of an unknown id: ok=%v stderr=%s", ok, errOut)
	}
	_, errOut, ok = cli(t, bin, e, "ec2", "run-instances", "--image-id", "ami-0123456789abcdef0", "--count", "1", "--dry-run")
	if ok || !strings.Contains(errOut, "DryRunOperation") {
		t.Errorf("run-instances --dry-run: ok=%v stderr=%s", ok, errOut)
	}
	e.SetThrottle(true)
	_, errOut, ok = cli(t, bin, e, "ec2", "describe-instances")
	if ok || !strings.Contains(errOut, "RequestLimitExceeded") {
		t.Errorf("throttled describe-instances: ok=%v stderr=%s", ok, errOut)
	}
}

// cliFails runs an aws command that must fail with code, and returns its
// stderr.
func cliFails(t *testing.T, bin string, e *Server, code string, args ...string) string {
	t.Helper()
	_, errOut, ok := cli(t, bin, e, args...)
	if ok || !strings.Contains(errOut, "("+code+")") {
		t.Errorf("aws %s: ok=%v, stderr %q; want error %s", strings.Join(args, " "), ok, errOut, code)
	}
	return errOut
}

// run-instances --private-ip-address, and EC2's errors for an address in
// use or outside the subnet, as the CLI prints them.
func TestAWSCLIPrivateIPAddress(t *testing.T) {
	bin := awsCLI(t)
	e := startServer(t, nil)
	var ran struct{ Instances []cliInstance }
	cliJSON(t, bin, e, &ran, "ec2", "run-instances", "--image-id", "ami-0123456789abcdef0", "--count", "1",
		"--subnet-id", "subnet-0a0000000000000a1", "--private-ip-address", "10.0.3.7")
	if len(ran.Instances) != 1 || ran.Instances[0].PrivateIPAddress != "10.0.3.7" {
		t.Fatalf("run-instances --private-ip-address 10.0.3.7: %+v", ran)
	}
	errOut := cliFails(t, bin, e, "InvalidIPAddress.InUse", "ec2", "run-instances", "--image-id", "ami-0123456789abcdef0",
		"--count", "1", "--subnet-id", "subnet-0a0000000000000a1", "--private-ip-address", "10.0.3.7")
	if !strings.Contains(errOut, "Address 10.0.3.7 is in use.") {
		t.Errorf("in use: %s", errOut)
	}
	errOut = cliFails(t, bin, e, "InvalidParameterValue", "ec2", "run-instances", "--image-id", "ami-0123456789abcdef0",
		"--count", "1", "--subnet-id", "subnet-0a0000000000000a1", "--private-ip-address", "10.0.99.7")
	if !strings.Contains(errOut, "Address 10.0.99.7 does not fall within the subnet's address range") {
		t.Errorf("outside the subnet: %s", errOut)
	}
	cliFails(t, bin, e, "InvalidParameterCombination", "ec2", "run-instances", "--image-id", "ami-0123456789abcdef0",
		"--count", "2", "--private-ip-address", "10.0.3.8")

	// Terminated, its address is free again.
	if err := e.TerminateInstance(ctx(t), ran.Instances[0].InstanceID); err != nil {
		t.Fatal(err)
	}
	cliJSON(t, bin, e, &ran, "ec2", "run-instances", "--image-id", "ami-0123456789abcdef0", "--count", "1",
		"--private-ip-address", "10.0.3.7")
	if len(ran.Instances) != 1 || ran.Instances[0].PrivateIPAddress != "10.0.3.7" {
		t.Errorf("run-instances at a terminated instance's address: %+v", ran)
	}
}

type cliStateChange struct {
	InstanceID                  string `json:"InstanceId"`
	CurrentState, PreviousState struct {
		Code int
		Name string
	}
}

// stop-instances, start-instances and reboot-instances, with EC2's shapes
// and errors as the CLI parses and prints them.
func TestAWSCLIStopStartReboot(t *testing.T) {
	bin := awsCLI(t)
	e := startServer(t, nil)
	id := run(t, sdkClient(t, e), 1, nil)[0]
	waitFor := func(want State) {
		t.Helper()
		testutil.Run(t, 10*time.Second, func(r *testutil.R) {
			if in, _ := e.Instance(id); in.State != want {
				r.Errorf("%s is %s, want %s", id, in.State, want)
			}
		})
	}
	waitFor(StateRunning)

	var stop struct{ StoppingInstances []cliStateChange }
	cliJSON(t, bin, e, &stop, "ec2", "stop-instances", "--instance-ids", id)
	if len(stop.StoppingInstances) != 1 || stop.StoppingInstances[0].InstanceID != id ||
		stop.StoppingInstances[0].PreviousState.Name != "running" || stop.StoppingInstances[0].CurrentState.Code != 64 {
		t.Errorf("stop-instances: %+v", stop)
	}
	waitFor(StateStopped)
	var desc struct {
		Reservations []struct {
			Instances []struct {
				cliInstance
				StateTransitionReason string
				StateReason           struct{ Code, Message string }
			}
		}
	}
	cliJSON(t, bin, e, &desc, "ec2", "describe-instances", "--instance-ids", id)
	got := desc.Reservations[0].Instances[0]
	if got.State.Name != "stopped" || got.PrivateIPAddress == "" || !strings.HasPrefix(got.StateTransitionReason, "User initiated (") ||
		got.StateReason.Code != "Client.UserInitiatedShutdown" {
		t.Errorf("describe-instances of a stopped instance: %+v", got)
	}
	errOut := cliFails(t, bin, e, "IncorrectInstanceState", "ec2", "reboot-instances", "--instance-ids", id)
	if !strings.Contains(errOut, "is not in a state from which it can be rebooted") {
		t.Errorf("reboot-instances of a stopped instance: %s", errOut)
	}

	var start struct{ StartingInstances []cliStateChange }
	cliJSON(t, bin, e, &start, "ec2", "start-instances", "--instance-ids", id)
	if len(start.StartingInstances) != 1 || start.StartingInstances[0].PreviousState.Code != 80 ||
		start.StartingInstances[0].CurrentState.Name != "pending" {
		t.Errorf("start-instances: %+v", start)
	}
	waitFor(StateRunning)
	if out, errOut, ok := cli(t, bin, e, "ec2", "reboot-instances", "--instance-ids", id); !ok || strings.TrimSpace(out) != "" {
		t.Errorf("reboot-instances: ok=%v stdout %q stderr %q; want success and no output", ok, out, errOut)
	}
	if n := e.CallCount("RebootInstances"); n != 2 {
		t.Errorf("RebootInstances calls = %d, want 2", n)
	}

	if err := e.TerminateInstance(ctx(t), id); err != nil {
		t.Fatal(err)
	}
	errOut = cliFails(t, bin, e, "IncorrectInstanceState", "ec2", "start-instances", "--instance-ids", id)
	if !strings.Contains(errOut, "The instance '"+id+"' is not in a state from which it can be started.") {
		t.Errorf("start-instances of a terminated instance: %s", errOut)
	}
}

// run-instances --instance-market-options, describe-instances'
// InstanceLifecycle and its filter, and EC2's Spot errors, through the CLI.
func TestAWSCLISpot(t *testing.T) {
	bin := awsCLI(t)
	e := startServer(t, nil)
	type spotInstance struct {
		cliInstance
		InstanceLifecycle     string
		SpotInstanceRequestID string `json:"SpotInstanceRequestId"`
	}
	var ran struct{ Instances []spotInstance }
	cliJSON(t, bin, e, &ran, "ec2", "run-instances", "--image-id", "ami-0123456789abcdef0", "--count", "1",
		"--instance-market-options", "MarketType=spot,SpotOptions={SpotInstanceType=persistent,InstanceInterruptionBehavior=stop,MaxPrice=0.05}")
	if len(ran.Instances) != 1 || ran.Instances[0].InstanceLifecycle != "spot" || !reSpotRequestID.MatchString(ran.Instances[0].SpotInstanceRequestID) {
		t.Fatalf("run-instances spot: %+v", ran)
	}
	persistent := ran.Instances[0].InstanceID
	cliJSON(t, bin, e, &ran, "ec2", "run-instances", "--image-id", "ami-0123456789abcdef0", "--count", "1",
		"--instance-market-options", `{"MarketType":"spot"}`)
	oneTime := ran.Instances[0].InstanceID
	run(t, sdkClient(t, e), 1, nil)

	var desc struct {
		Reservations []struct{ Instances []spotInstance }
	}
	cliJSON(t, bin, e, &desc, "ec2", "describe-instances", "--filters", "Name=instance-lifecycle,Values=spot")
	var spots []string
	for _, r := range desc.Reservations {
		for _, in := range r.Instances {
			spots = append(spots, in.InstanceID)
		}
	}
	if !equal(spots, []string{persistent, oneTime}) {
		t.Errorf("describe-instances --filters Name=instance-lifecycle,Values=spot: %v, want %s %s", spots, persistent, oneTime)
	}
	if snap, _ := e.Instance(oneTime); snap.SpotInstanceType != "one-time" || snap.InterruptionBehavior != "terminate" {
		t.Errorf("the CLI's default spot options arrived as %s / %s", snap.SpotInstanceType, snap.InterruptionBehavior)
	}

	for _, id := range []string{persistent, oneTime} {
		if err := e.SetState(id, StateRunning); err != nil {
			t.Fatal(err)
		}
	}
	errOut := cliFails(t, bin, e, "UnsupportedOperation", "ec2", "stop-instances", "--instance-ids", oneTime)
	if !strings.Contains(errOut, "associated with a one-time Spot Instance request") {
		t.Errorf("stop-instances of a one-time Spot Instance: %s", errOut)
	}
	var stop struct{ StoppingInstances []cliStateChange }
	cliJSON(t, bin, e, &stop, "ec2", "stop-instances", "--instance-ids", persistent)
	if len(stop.StoppingInstances) != 1 || stop.StoppingInstances[0].CurrentState.Name != "stopping" {
		t.Errorf("stop-instances of a persistent Spot Instance: %+v", stop)
	}
	errOut = cliFails(t, bin, e, "InvalidParameterCombination", "ec2", "run-instances", "--image-id", "ami-0123456789abcdef0",
		"--count", "1", "--instance-market-options", "MarketType=spot,SpotOptions={SpotInstanceType=one-time,InstanceInterruptionBehavior=stop}")
	if !strings.Contains(errOut, "The request with type 'one-time' is not supported when instanceInterruptionBehavior is set to 'stop'.") {
		t.Errorf("one-time spot that stops: %s", errOut)
	}
}

// The aws:autoscaling:groupName tag through the CLI: refused to a user, as
// EC2 does; accepted from the Auto Scaling principal, on run-instances and
// create-tags.
func TestAWSCLIAutoScalingTag(t *testing.T) {
	bin := awsCLI(t)
	e := startServer(t, nil)
	spec := "ResourceType=instance,Tags=[{Key=aws:autoscaling:groupName,Value=web}]"
	errOut := cliFails(t, bin, e, "InvalidParameterValue", "ec2", "run-instances", "--image-id", "ami-0123456789abcdef0",
		"--count", "1", "--tag-specifications", spec)
	if !strings.Contains(errOut, "Tag keys starting with 'aws:' are reserved for internal use") {
		t.Errorf("run-instances with an aws: tag: %s", errOut)
	}
	out, errOut, ok := cliAs(t, bin, e, DefaultAutoScalingAccessKeyID, "ec2", "run-instances", "--image-id", "ami-0123456789abcdef0",
		"--count", "1", "--tag-specifications", spec, "--output", "json")
	if !ok || !strings.Contains(out, `"aws:autoscaling:groupName"`) {
		t.Fatalf("run-instances as Auto Scaling: ok=%v stdout %s stderr %s", ok, out, errOut)
	}
	other := run(t, sdkClient(t, e), 1, nil)[0]
	errOut = cliFails(t, bin, e, "InvalidParameterValue", "ec2", "create-tags", "--resources", other, "--tags", "Key=aws:autoscaling:groupName,Value=web")
	if !strings.Contains(errOut, "Value ( aws:autoscaling:groupName ) for parameter key is invalid.") {
		t.Errorf("create-tags with an aws: tag: %s", errOut)
	}
	if _, errOut, ok := cliAs(t, bin, e, DefaultAutoScalingAccessKeyID, "ec2", "create-tags", "--resources", other,
		"--tags", "Key=aws:autoscaling:groupName,Value=web"); !ok {
		t.Fatalf("create-tags as Auto Scaling: %s", errOut)
	}
	var desc struct {
		Reservations []struct{ Instances []cliInstance }
	}
	cliJSON(t, bin, e, &desc, "ec2", "describe-instances", "--filters", "Name=tag:aws:autoscaling:groupName,Values=web")
	n := 0
	for _, r := range desc.Reservations {
		n += len(r.Instances)
	}
	if n != 2 {
		t.Errorf("describe-instances by the group tag found %d, want 2", n)
	}
}
