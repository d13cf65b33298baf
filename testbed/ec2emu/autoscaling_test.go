package ec2emu

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/jonboulle/clockwork"
)

// asAutoScaling signs as the Auto Scaling principal.
func asAutoScaling(o *ec2.Options) {
	o.Credentials = credentials.NewStaticCredentialsProvider(DefaultAutoScalingAccessKeyID, "secret", "")
}

func groupTags(name string) []ec2types.TagSpecification {
	return []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance,
		Tags: toTags(map[string]string{TagAutoScalingGroup: name, "farmhand:cluster": "c1"})}}
}

func TestAutoScalingGroupTag(t *testing.T) {
	e := startServer(t, nil)
	user, group := sdkClient(t, e), sdkClient(t, e, asAutoScaling)
	in := func() *ec2.RunInstancesInput {
		return &ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			TagSpecifications: groupTags("web")}
	}
	_, err := user.RunInstances(ctx(t), in())
	wantAPIError(t, err, "InvalidParameterValue", http.StatusBadRequest)
	wantMessage(t, err, "Tag keys starting with 'aws:' are reserved for internal use")

	out, err := group.RunInstances(ctx(t), in())
	if err != nil {
		t.Fatalf("RunInstances as Auto Scaling: %v", err)
	}
	owned := aws.ToString(out.Instances[0].InstanceId)
	if snap, _ := e.Instance(owned); snap.Tags[TagAutoScalingGroup] != "web" || snap.TargetLifecycleState != LifecycleInService {
		t.Errorf("group instance: tags %v, target lifecycle %q", snap.Tags, snap.TargetLifecycleState)
	}

	// Only the group tag: other aws: tags stay refused to Auto Scaling too.
	bad := in()
	bad.TagSpecifications[0].Tags = toTags(map[string]string{"aws:cloudformation:stack-name": "s"})
	_, err = group.RunInstances(ctx(t), bad)
	wantAPIError(t, err, "InvalidParameterValue", http.StatusBadRequest)

	free := run(t, user, 1, nil)[0]
	tag := []ec2types.Tag{{Key: aws.String(TagAutoScalingGroup), Value: aws.String("web")}}
	_, err = user.CreateTags(ctx(t), &ec2.CreateTagsInput{Resources: []string{free}, Tags: tag})
	wantAPIError(t, err, "InvalidParameterValue", http.StatusBadRequest)
	wantMessage(t, err, "Value ( aws:autoscaling:groupName ) for parameter key is invalid. Tag keys starting with 'aws:' are reserved for internal use")
	if snap, _ := e.Instance(free); snap.TargetLifecycleState != "" {
		t.Errorf("an instance outside any group has target lifecycle %q", snap.TargetLifecycleState)
	}
	if _, err := group.CreateTags(ctx(t), &ec2.CreateTagsInput{Resources: []string{free}, Tags: tag}); err != nil {
		t.Fatalf("CreateTags as Auto Scaling (attaching an instance): %v", err)
	}
	if snap, _ := e.Instance(free); snap.TargetLifecycleState != LifecycleInService {
		t.Errorf("an attached instance has target lifecycle %q", snap.TargetLifecycleState)
	}
	if got := describe(t, user, filterInput(f("tag:"+TagAutoScalingGroup, "web"))); len(got) != 2 {
		t.Errorf("filter by the group tag found %d, want 2", len(got))
	}

	// Without an Auto Scaling principal nobody may.
	closed := startServer(t, func(c *Config) { c.AutoScalingAccessKeyID = "" })
	_, err = sdkClient(t, closed, asAutoScaling).RunInstances(ctx(t), in())
	wantAPIError(t, err, "InvalidParameterValue", http.StatusBadRequest)
}

// The group's termination: target lifecycle Terminated at once, the
// instance terminated when the hook times out.
func TestAutoScalingTerminate(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	e := startServer(t, func(c *Config) { c.Clock = clock })
	c := sdkClient(t, e, asAutoScaling)
	out, err := c.RunInstances(ctx(t), &ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"),
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), TagSpecifications: groupTags("web")})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.Instances[0].InstanceId)
	free := run(t, c, 1, nil)[0]
	waitState(t, c, id, ec2types.InstanceStateNameRunning)
	waitState(t, c, free, ec2types.InstanceStateNameRunning)

	if _, err := e.AutoScalingTerminate(free, time.Minute); err == nil {
		t.Error("AutoScalingTerminate of an instance outside any group succeeded")
	}
	due, err := e.AutoScalingTerminate(id, time.Minute)
	if err != nil || !due.Equal(clock.Now().Add(time.Minute)) {
		t.Fatalf("AutoScalingTerminate: %v %v", due, err)
	}
	if snap, _ := e.Instance(id); snap.TargetLifecycleState != LifecycleTerminated || snap.State != StateRunning {
		t.Errorf("during the hook: %s, target %q; want running, Terminated", snap.State, snap.TargetLifecycleState)
	}
	if _, err := e.AutoScalingTerminate(id, time.Minute); err == nil {
		t.Error("a second AutoScalingTerminate succeeded")
	}
	if err := clock.BlockUntilContext(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	waitState(t, c, id, ec2types.InstanceStateNameTerminated)
}

func TestPrincipalOf(t *testing.T) {
	r, _ := http.NewRequest(http.MethodPost, "http://ec2/", nil)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDUSER/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=00")
	if got := principalOf(r); got != "AKIDUSER" {
		t.Errorf("header credential: %q", got)
	}
	r, _ = http.NewRequest(http.MethodGet, "http://ec2/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="+
		url.QueryEscape("ASIAPRESIGNED/20260101/us-east-1/ec2/aws4_request"), nil)
	if got := principalOf(r); got != "ASIAPRESIGNED" {
		t.Errorf("presigned credential: %q", got)
	}
}
