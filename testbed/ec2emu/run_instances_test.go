package ec2emu

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

var (
	reInstanceID    = regexp.MustCompile(`^i-[0-9a-f]{17}$`)
	reReservationID = regexp.MustCompile(`^r-[0-9a-f]{17}$`)
)

func TestRunInstancesThroughSDK(t *testing.T) {
	e := startServer(t, nil)
	c := sdkClient(t, e)
	out, err := c.RunInstances(ctx(t), &ec2.RunInstancesInput{
		ImageId:            aws.String("ami-0123456789abcdef0"),
		MinCount:           aws.Int32(2),
		MaxCount:           aws.Int32(2),
		InstanceType:       ec2types.InstanceTypeT3Micro,
		SubnetId:           aws.String("subnet-0b0000000000000b1"),
		SecurityGroupIds:   []string{"sg-0123456789abcdef0", "sg-0fedcba9876543210"},
		IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String("farmhand-node")},
		KeyName:            aws.String("ops"),
		UserData:           aws.String(base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\necho hi\n"))),
		TagSpecifications: []ec2types.TagSpecification{
			{ResourceType: ec2types.ResourceTypeInstance, Tags: toTags(map[string]string{"cluster": "c1", "role": "worker"})},
			{ResourceType: ec2types.ResourceTypeVolume, Tags: toTags(map[string]string{"ignored": "yes"})},
		},
	})
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	if !reReservationID.MatchString(aws.ToString(out.ReservationId)) {
		t.Errorf("reservation id %q is not r- and 17 hex digits", aws.ToString(out.ReservationId))
	}
	if aws.ToString(out.OwnerId) != "123456789012" {
		t.Errorf("owner = %q", aws.ToString(out.OwnerId))
	}
	if len(out.Instances) != 2 {
		t.Fatalf("got %d instances, want 2", len(out.Instances))
	}
	ips := map[string]bool{}
	for i, inst := range out.Instances {
		id := aws.ToString(inst.InstanceId)
		if !reInstanceID.MatchString(id) {
			t.Errorf("instance id %q is not i- and 17 hex digits", id)
		}
		if inst.State == nil || inst.State.Name != ec2types.InstanceStateNamePending || aws.ToInt32(inst.State.Code) != 0 {
			t.Errorf("%s state = %+v, want pending/0", id, inst.State)
		}
		if inst.InstanceType != ec2types.InstanceTypeT3Micro || aws.ToString(inst.ImageId) != "ami-0123456789abcdef0" {
			t.Errorf("%s type/image = %s/%s", id, inst.InstanceType, aws.ToString(inst.ImageId))
		}
		if aws.ToString(inst.SubnetId) != "subnet-0b0000000000000b1" || aws.ToString(inst.Placement.AvailabilityZone) != "us-east-1b" {
			t.Errorf("%s subnet/az = %s/%s", id, aws.ToString(inst.SubnetId), aws.ToString(inst.Placement.AvailabilityZone))
		}
		if aws.ToInt32(inst.AmiLaunchIndex) != int32(i) {
			t.Errorf("%s launch index = %d, want %d", id, aws.ToInt32(inst.AmiLaunchIndex), i)
		}
		ip := aws.ToString(inst.PrivateIpAddress)
		if ip == "" || ips[ip] {
			t.Errorf("%s private ip %q empty or duplicated", id, ip)
		}
		ips[ip] = true
		if len(inst.SecurityGroups) != 2 || aws.ToString(inst.SecurityGroups[1].GroupId) != "sg-0fedcba9876543210" {
			t.Errorf("%s groups = %+v", id, inst.SecurityGroups)
		}
		if inst.IamInstanceProfile == nil || aws.ToString(inst.IamInstanceProfile.Arn) != "arn:aws:iam::123456789012:instance-profile/farmhand-node" {
			t.Errorf("%s profile = %+v", id, inst.IamInstanceProfile)
		}
		if aws.ToString(inst.KeyName) != "ops" || inst.LaunchTime == nil || inst.LaunchTime.IsZero() {
			t.Errorf("%s key/launch time = %q/%v", id, aws.ToString(inst.KeyName), inst.LaunchTime)
		}
		tags := map[string]string{}
		for _, tg := range inst.Tags {
			tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		if len(tags) != 2 || tags["cluster"] != "c1" || tags["role"] != "worker" {
			t.Errorf("%s tags = %v, want cluster=c1 role=worker only", id, tags)
		}
		snap, ok := e.Instance(id)
		if !ok || string(snap.UserData) != "#!/bin/sh\necho hi\n" {
			t.Errorf("%s user data in the emulator = %q", id, snap.UserData)
		}
	}
	if n := e.CallCount("RunInstances"); n != 1 {
		t.Errorf("RunInstances calls = %d, want 1", n)
	}
}

func TestRunInstancesSpreadsOverSubnets(t *testing.T) {
	e := startServer(t, nil)
	c := sdkClient(t, e)
	var ids []string
	for i := 0; i < 3; i++ {
		ids = append(ids, run(t, c, 1, nil)...)
	}
	zones := map[string]bool{}
	for _, id := range ids {
		inst, _ := e.Instance(id)
		zones[inst.AvailabilityZone] = true
	}
	if len(zones) != 3 {
		t.Errorf("3 launches without a subnet landed in zones %v, want all three", zones)
	}
}

func TestRunInstancesLaunchTemplate(t *testing.T) {
	e := startServer(t, func(c *Config) {
		c.LaunchTemplates = []LaunchTemplate{{
			ID: "lt-0123456789abcdef0", Name: "node", ImageID: "ami-0aaaaaaaaaaaaaaa1",
			InstanceType: "m7g.large", SubnetID: "subnet-0c0000000000000c1",
			SecurityGroupIDs: []string{"sg-0aaaaaaaaaaaaaaa1"}, Tags: map[string]string{"cluster": "from-template", "team": "t"},
		}}
	})
	c := sdkClient(t, e)
	for _, spec := range []*ec2types.LaunchTemplateSpecification{
		{LaunchTemplateName: aws.String("node")},
		{LaunchTemplateId: aws.String("lt-0123456789abcdef0"), Version: aws.String("$Latest")},
	} {
		out, err := c.RunInstances(ctx(t), &ec2.RunInstancesInput{
			LaunchTemplate: spec, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: toTags(map[string]string{"cluster": "c2"})}},
		})
		if err != nil {
			t.Fatalf("RunInstances with template %+v: %v", spec, err)
		}
		inst, _ := e.Instance(aws.ToString(out.Instances[0].InstanceId))
		if inst.ImageID != "ami-0aaaaaaaaaaaaaaa1" || inst.InstanceType != "m7g.large" || inst.SubnetID != "subnet-0c0000000000000c1" ||
			len(inst.SecurityGroupIDs) != 1 || inst.LaunchTemplateID != "lt-0123456789abcdef0" {
			t.Errorf("template not applied: %+v", inst)
		}
		if inst.Tags["cluster"] != "c2" || inst.Tags["team"] != "t" {
			t.Errorf("tags = %v, want the request's cluster over the template's, plus team", inst.Tags)
		}
	}
	_, err := c.RunInstances(ctx(t), &ec2.RunInstancesInput{LaunchTemplate: &ec2types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("nope")},
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	wantAPIError(t, err, "InvalidLaunchTemplateName.NotFoundException", http.StatusBadRequest)
	_, err = c.RunInstances(ctx(t), &ec2.RunInstancesInput{LaunchTemplate: &ec2types.LaunchTemplateSpecification{LaunchTemplateId: aws.String("lt-0000000000000000f")},
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	wantAPIError(t, err, "InvalidLaunchTemplateId.NotFound", http.StatusBadRequest)
}

func TestRunInstancesClientTokenIdempotency(t *testing.T) {
	e := startServer(t, nil)
	c := sdkClient(t, e)
	in := func(instanceType ec2types.InstanceType) *ec2.RunInstancesInput {
		return &ec2.RunInstancesInput{
			ImageId: aws.String("ami-0123456789abcdef0"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			InstanceType: instanceType, ClientToken: aws.String("c1-replaces-i-0123456789abcdef0"),
		}
	}
	first, err := c.RunInstances(ctx(t), in(ec2types.InstanceTypeT3Micro))
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.RunInstances(ctx(t), in(ec2types.InstanceTypeT3Micro))
	if err != nil {
		t.Fatalf("repeated RunInstances with the same token and parameters: %v", err)
	}
	if aws.ToString(first.ReservationId) != aws.ToString(second.ReservationId) ||
		aws.ToString(first.Instances[0].InstanceId) != aws.ToString(second.Instances[0].InstanceId) {
		t.Errorf("same token gave reservations %s/%s and instances %s/%s, want the same",
			aws.ToString(first.ReservationId), aws.ToString(second.ReservationId),
			aws.ToString(first.Instances[0].InstanceId), aws.ToString(second.Instances[0].InstanceId))
	}
	if n := len(e.Instances()); n != 1 {
		t.Errorf("emulator holds %d instances after an idempotent retry, want 1", n)
	}
	if aws.ToString(second.Instances[0].ClientToken) != "c1-replaces-i-0123456789abcdef0" {
		t.Errorf("client token = %q", aws.ToString(second.Instances[0].ClientToken))
	}

	_, err = c.RunInstances(ctx(t), in(ec2types.InstanceTypeM5Large))
	wantAPIError(t, err, "IdempotentParameterMismatch", http.StatusBadRequest)
	if n := len(e.Instances()); n != 1 {
		t.Errorf("emulator holds %d instances after a mismatched token, want 1", n)
	}

	// The SDK fills a fresh token when none is given: two calls, two instances.
	run(t, c, 1, nil)
	run(t, c, 1, nil)
	if n := len(e.Instances()); n != 3 {
		t.Errorf("emulator holds %d instances, want 3", n)
	}
}

func TestRunInstancesErrorsThroughSDK(t *testing.T) {
	e := startServer(t, func(c *Config) {
		c.Subnets[0].CIDR = "10.0.0.0/28" // 11 addresses
	})
	c := sdkClient(t, e)
	base := func(mut func(*ec2.RunInstancesInput)) *ec2.RunInstancesInput {
		in := &ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)}
		mut(in)
		return in
	}
	for _, tc := range []struct {
		name   string
		in     *ec2.RunInstancesInput
		code   string
		status int
	}{
		{"no image", base(func(in *ec2.RunInstancesInput) { in.ImageId = nil }), "MissingParameter", 400},
		{"malformed image", base(func(in *ec2.RunInstancesInput) { in.ImageId = aws.String("debian") }), "InvalidAMIID.Malformed", 400},
		{"min count 0", base(func(in *ec2.RunInstancesInput) { in.MinCount = aws.Int32(0) }), "InvalidParameterValue", 400},
		{"max below min", base(func(in *ec2.RunInstancesInput) { in.MinCount = aws.Int32(3); in.MaxCount = aws.Int32(2) }), "InvalidParameterValue", 400},
		{"unknown subnet", base(func(in *ec2.RunInstancesInput) { in.SubnetId = aws.String("subnet-0ffffffffffffffff") }), "InvalidSubnetID.NotFound", 400},
		{"bad zone", base(func(in *ec2.RunInstancesInput) {
			in.Placement = &ec2types.Placement{AvailabilityZone: aws.String("mars-1a")}
		}), "InvalidParameterValue", 400},
		{"malformed group", base(func(in *ec2.RunInstancesInput) { in.SecurityGroupIds = []string{"default"} }), "InvalidGroupId.Malformed", 400},
		{"user data not base64", base(func(in *ec2.RunInstancesInput) { in.UserData = aws.String("not base64!") }), "InvalidUserData.Malformed", 400},
		{"untyped tag spec", base(func(in *ec2.RunInstancesInput) {
			in.TagSpecifications = []ec2types.TagSpecification{{Tags: toTags(map[string]string{"a": "b"})}}
		}), "MissingParameter", 400},
		{"reserved tag", base(func(in *ec2.RunInstancesInput) {
			in.TagSpecifications = []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: toTags(map[string]string{"aws:x": "b"})}}
		}), "InvalidParameterValue", 400},
		{"dry run", base(func(in *ec2.RunInstancesInput) { in.DryRun = aws.Bool(true) }), "DryRunOperation", 412},
		{"no addresses", base(func(in *ec2.RunInstancesInput) {
			in.SubnetId, in.MinCount, in.MaxCount = aws.String("subnet-0a0000000000000a1"), aws.Int32(12), aws.Int32(12)
		}), "InsufficientFreeAddressesInSubnet", 400},
		{"address outside the subnet", base(func(in *ec2.RunInstancesInput) {
			in.SubnetId, in.PrivateIpAddress = aws.String("subnet-0a0000000000000a1"), aws.String("10.0.16.9")
		}), "InvalidParameterValue", 400},
		{"address in no subnet", base(func(in *ec2.RunInstancesInput) { in.PrivateIpAddress = aws.String("192.0.2.7") }), "InvalidParameterValue", 400},
		{"reserved address", base(func(in *ec2.RunInstancesInput) { in.PrivateIpAddress = aws.String("10.0.16.1") }), "InvalidParameterValue", 400},
		{"broadcast address", base(func(in *ec2.RunInstancesInput) { in.PrivateIpAddress = aws.String("10.0.0.15") }), "InvalidParameterValue", 400},
		{"not an address", base(func(in *ec2.RunInstancesInput) { in.PrivateIpAddress = aws.String("10.0.0.x") }), "InvalidParameterValue", 400},
		{"address for two", base(func(in *ec2.RunInstancesInput) {
			in.PrivateIpAddress, in.MaxCount = aws.String("10.0.0.5"), aws.Int32(2)
		}), "InvalidParameterCombination", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.RunInstances(ctx(t), tc.in)
			wantAPIError(t, err, tc.code, tc.status)
		})
	}
	if n := len(e.Instances()); n != 0 {
		t.Errorf("failed calls created %d instances", n)
	}
}

func TestRunInstancesPartialCapacity(t *testing.T) {
	e := startServer(t, func(c *Config) { c.Subnets = c.Subnets[:1]; c.Subnets[0].CIDR = "10.0.0.0/28" })
	c := sdkClient(t, e)
	run(t, c, 9, nil)
	out, err := c.RunInstances(ctx(t), &ec2.RunInstancesInput{
		ImageId: aws.String("ami-0123456789abcdef0"), MinCount: aws.Int32(1), MaxCount: aws.Int32(5)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Instances) != 2 {
		t.Errorf("MinCount 1, MaxCount 5 with 2 free addresses launched %d, want 2", len(out.Instances))
	}
}

// TestWireFormat checks what the SDK cannot show: the raw documents, and
// requests the SDK refuses to send.
func TestWireFormat(t *testing.T) {
	e := startServer(t, nil)
	form := func(kv ...string) url.Values {
		v := url.Values{"Version": {"2016-11-15"}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	ok := postForm(t, e, form("Action", "DescribeInstances"), true)
	if ok.status != 200 || !regexp.MustCompile(`<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>[0-9a-f-]{36}</requestId>`).MatchString(ok.body) {
		t.Errorf("DescribeInstances answered %d %s", ok.status, ok.body)
	}
	for _, tc := range []struct {
		name   string
		form   url.Values
		sign   bool
		status int
		code   string
	}{
		{"unsigned", form("Action", "DescribeInstances"), false, 401, "AuthFailure"},
		{"no action", form(), true, 400, "MissingParameter"},
		{"unknown action", form("Action", "LaunchRockets"), true, 400, "InvalidAction"},
		{"no version", url.Values{"Action": {"DescribeInstances"}}, true, 400, "MissingParameter"},
		{"no min count", form("Action", "RunInstances", "ImageId", "ami-0123456789abcdef0", "MaxCount", "1"), true, 400, "MissingParameter"},
		{"bad max count", form("Action", "RunInstances", "ImageId", "ami-0123456789abcdef0", "MinCount", "1", "MaxCount", "x"), true, 400, "InvalidParameterValue"},
		{"terminate nothing", form("Action", "TerminateInstances"), true, 400, "MissingParameter"},
		{"bad dry run", form("Action", "DescribeInstances", "DryRun", "maybe"), true, 400, "InvalidParameterValue"},
	} {
		got := postForm(t, e, tc.form, tc.sign)
		if got.status != tc.status || got.code != tc.code {
			t.Errorf("%s: got %d %q, want %d %q; body %s", tc.name, got.status, got.code, tc.status, tc.code, got.body)
		}
	}
	calls := e.Calls()
	if calls["LaunchRockets"] != 1 || calls["DescribeInstances"] != 4 || calls[""] != 1 {
		t.Errorf("call counters = %v", calls)
	}
	if errs := e.Errors(); errs["MissingParameter"] != 4 || errs["AuthFailure"] != 1 {
		t.Errorf("error counters = %v", errs)
	}
}
