package coordinator

import (
	"context"
	"encoding/base64"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func TestRunInputFromLaunchTemplate(t *testing.T) {
	g := Group{Name: "web", LaunchTemplate: "lt-0abc", InstanceProfile: "arn:aws:iam::1:instance-profile/farmhand",
		UserData: "#!/bin/sh\necho hi\n", KeyName: "ops", SecurityGroups: []string{"sg-1"}}
	b := newBatch("c1", "web", nil, nil, 2, 7, 3, t0)
	in := runInput("c1", g, &b)
	lt := in.LaunchTemplate
	if lt == nil || aws.ToString(lt.LaunchTemplateId) != "lt-0abc" || lt.LaunchTemplateName != nil || aws.ToString(lt.Version) != "$Default" {
		t.Fatalf("launch template %+v", lt)
	}
	if in.ImageId != nil || in.InstanceType != "" || in.SubnetId != nil {
		t.Fatal("unset fields must be left to the template")
	}
	if aws.ToString(in.IamInstanceProfile.Arn) != g.InstanceProfile || in.IamInstanceProfile.Name != nil {
		t.Fatalf("instance profile %+v", in.IamInstanceProfile)
	}
	ud, err := base64.StdEncoding.DecodeString(aws.ToString(in.UserData))
	if err != nil || string(ud) != g.UserData {
		t.Fatalf("user data %q (%v)", ud, err)
	}
	if aws.ToInt32(in.MinCount) != 2 || aws.ToInt32(in.MaxCount) != 2 || aws.ToString(in.ClientToken) != clientToken("c1", "web", nil, 7, 0) {
		t.Fatalf("counts %d/%d token %q", aws.ToInt32(in.MinCount), aws.ToInt32(in.MaxCount), aws.ToString(in.ClientToken))
	}
	if len(in.TagSpecifications) != 1 || in.TagSpecifications[0].ResourceType != ec2types.ResourceTypeInstance {
		t.Fatalf("tag specifications %+v", in.TagSpecifications)
	}
	tags := tagsOf(in)
	if _, ok := tags[TagReplaces]; ok || tags[TagBatch] != b.ID || tags[TagGroup] != "web" {
		t.Fatalf("tags %v", tags)
	}
	g.LaunchTemplate, g.LaunchTemplateVersion, g.InstanceProfile = "web-template", "4", "farmhand-node"
	in = runInput("c1", g, &b)
	if aws.ToString(in.LaunchTemplate.LaunchTemplateName) != "web-template" || aws.ToString(in.LaunchTemplate.Version) != "4" || aws.ToString(in.IamInstanceProfile.Name) != "farmhand-node" {
		t.Fatalf("named template %+v profile %+v", in.LaunchTemplate, in.IamInstanceProfile)
	}
}

func TestReplacesTagFitsOrReferencesBatch(t *testing.T) {
	few := newBatch("c1", "g", []string{iid(2), iid(1)}, nil, 0, 0, 1, t0)
	if got := few.replacesTag(); got != iid(1)+","+iid(2) {
		t.Fatalf("tag %q", got)
	}
	var many []string
	for i := range 20 {
		many = append(many, iid(i))
	}
	b := newBatch("c1", "g", many, nil, 0, 0, 1, t0)
	if got := b.replacesTag(); got != "batch:"+b.ID || len(got) > 256 {
		t.Fatalf("tag %q", got)
	}
}

func TestTerminateToleratesVanishedInstances(t *testing.T) {
	h := newHarness(t, nil)
	h.ec2.add(iid(1), ec2types.InstanceStateNameStopped, "", t0, nil)
	h.ec2.add(iid(3), ec2types.InstanceStateNameStopped, "", t0, nil)
	// iid(2) is already gone: the batch call fails, each id is retried alone.
	if err := h.c.terminate(context.Background(), []string{iid(1), iid(2), iid(3)}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{iid(1), iid(3)} {
		if s := h.ec2.instance(id).state; s != ec2types.InstanceStateNameShuttingDown {
			t.Fatalf("%s is %s", id, s)
		}
	}
	if n := h.ec2.count("TerminateInstances"); n != 4 {
		t.Fatalf("TerminateInstances calls = %d, want 1 batch + 3 single", n)
	}
}

func TestLaunchNeverJoinedIsReported(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Groups[0].Min = 5 })
	h.alive(1, 4, "worker")
	h.ec2.add(iid(30), ec2types.InstanceStateNameRunning, "ok", t0.Add(-time.Hour), map[string]string{TagCluster: "c1", TagGroup: "workers"})
	h.tick(h.c)
	d := mustDecision(t, h.c, CodeNotJoined, iid(30))
	if d.Action != ActionReport {
		t.Fatalf("decision %+v", d)
	}
	// It still counts as pending: 4 + 1 = min, no top-up.
	if n := h.ec2.count("RunInstances"); n != 0 {
		t.Fatalf("RunInstances calls = %d", n)
	}
}

func TestLeaseEpochContinuesAfterTheLeaseObjectIsLost(t *testing.T) {
	h := newHarness(t, nil)
	h.alive(1, 4, "worker")
	h.tick(h.c)
	h.tick(h.c)
	if _, err := h.store.PutObject(context.Background(), putInput("farmhand/c1/ledger.json", `{"version":1,"epoch":41}`)); err != nil {
		t.Fatal(err)
	}
	h.store.mu.Lock()
	delete(h.store.objects, testBucket+"/farmhand/c1/lease")
	h.store.mu.Unlock()
	b, _ := h.peer(iid(0xb))
	h.tick(b)
	if st := b.Status(); !st.Leader || st.Epoch != 42 {
		t.Fatalf("status %+v, want leader at epoch 42 (above the ledger's)", st)
	}
	if !slices.ContainsFunc(b.History(0), func(d Decision) bool { return d.Code == CodeAcquired && d.Epoch == 42 }) {
		t.Fatalf("no acquisition decision:%s", historyString(b))
	}
}
