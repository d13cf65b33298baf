package e2e

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// Without a coordinator the registry still gets clean: a member that left
// while S3 was down (its own delete failed) loses its record once it has
// been gone for registry.prune_after and EC2 says its instance is
// terminated. A crashed machine that EC2 still lists as running keeps its
// record. Exactly one agent, the alive member with the lowest name, sends
// the requests; the others send none.
func TestStaleRecordsArePrunedWithoutACoordinator(t *testing.T) {
	t.Parallel()
	const pruneAfter = 3 * time.Second
	f := startFarm(t, farmOpts{nodes: 5, noCoordinator: true, registryHCL: fmt.Sprintf("prune_after = %q", pruneAfter)})
	var ids []string
	for _, in := range Running(f.tb) {
		ids = append(ids, in.ID)
	}
	slices.Sort(ids)
	pruner, leaver, crashed := ids[0], ids[4], ids[3]

	// The leaver's machine is terminated while S3 is down: its agent
	// leaves, and cannot delete its record.
	if err := f.tb.SetS3Down(true); err != nil {
		t.Fatal(err)
	}
	api := ec2.New(ec2.Options{Region: testbed.Region, BaseEndpoint: aws.String(f.tb.EC2().URL()),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	if _, err := api.TerminateInstances(f.ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{leaver}}); err != nil {
		t.Fatal(err)
	}
	f.eventually(healTimeout, func(r *testutil.R) {
		// Left, or dead when its leave broadcast was not confirmed in
		// time (a loaded machine): gone either way.
		m, err := f.member(pruner, leaver)
		if err != nil || (m.Status != membership.StatusLeft && m.Status != membership.StatusDead) {
			r.Fatalf("%s sees %s as %v (%v), want left (or dead)", pruner, leaver, m.Status, err)
		}
	})
	if !f.hasRecord(leaver) {
		t.Fatal("the leaver deleted its record although S3 was down: the test cannot show pruning")
	}
	// Another machine crashes; EC2 still lists it running (impaired).
	if err := f.tb.Crash(crashed); err != nil {
		t.Fatal(err)
	}
	f.waitDeadFor(pruner, 0, crashed)
	f.tb.S3().ResetCounts()
	if err := f.tb.SetS3Down(false); err != nil {
		t.Fatal(err)
	}

	f.eventually(healTimeout, func(r *testutil.R) {
		if f.hasRecord(leaver) {
			r.Fatalf("the record of %s, left and terminated, is still there", leaver)
		}
	})
	f.consistently(2*pruneAfter, func() error {
		if !f.hasRecord(crashed) {
			return fmt.Errorf("the record of %s was pruned although EC2 lists its machine as running", crashed)
		}
		return nil
	})
	for _, id := range ids[:3] {
		c := f.tb.S3().CountsFrom(f.instance(id).IP)
		switch {
		case id == pruner && (c.List == 0 || c.Delete == 0):
			t.Errorf("the pruner %s made %+v requests, want its LISTs and DELETEs", id, c)
		case id != pruner && c.Total() != 0:
			t.Errorf("%s, not the pruner, made %+v S3 requests, want none", id, c)
		}
	}
	log, err := os.ReadFile(f.instance(pruner).Log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "deleted the registry record of a member gone for longer than registry.prune_after") {
		t.Error("the pruner did not log the deletion")
	}
	t.Logf("pruner %s: %+v", pruner, f.tb.S3().CountsFrom(f.instance(pruner).IP))
}
