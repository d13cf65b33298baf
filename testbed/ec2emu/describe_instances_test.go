package ec2emu

import (
	"net/http"
	"net/url"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func filterInput(fs ...ec2types.Filter) *ec2.DescribeInstancesInput {
	return &ec2.DescribeInstancesInput{Filters: fs}
}

func f(name string, values ...string) ec2types.Filter {
	return ec2types.Filter{Name: aws.String(name), Values: values}
}

func keys(m map[string]ec2types.Instance) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sorted(ids ...string) []string {
	out := append([]string(nil), ids...)
	sort.Strings(out)
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDescribeInstancesFilters(t *testing.T) {
	e := startServer(t, nil)
	c := sdkClient(t, e)
	alpha := run(t, c, 2, map[string]string{"cluster": "alpha", "role": "worker"})
	beta := run(t, c, 1, map[string]string{"cluster": "beta"})
	plain := run(t, c, 1, nil)
	if err := e.SetState(beta[0], StateStopped); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		in   *ec2.DescribeInstancesInput
		want []string
	}{
		{"all", filterInput(), sorted(append(append(append([]string{}, alpha...), beta...), plain...)...)},
		{"tag", filterInput(f("tag:cluster", "alpha")), sorted(alpha...)},
		{"tag any of", filterInput(f("tag:cluster", "alpha", "beta")), sorted(append(append([]string{}, alpha...), beta...)...)},
		{"tag wildcard", filterInput(f("tag:cluster", "b*")), beta},
		{"tag single char wildcard", filterInput(f("tag:cluster", "alph?")), sorted(alpha...)},
		{"tag-key", filterInput(f("tag-key", "role")), sorted(alpha...)},
		{"state", filterInput(f("instance-state-name", "stopped")), beta},
		{"tag and state", filterInput(f("tag:cluster", "alpha", "beta"), f("instance-state-name", "pending", "running")), sorted(alpha...)},
		{"instance-id", filterInput(f("instance-id", plain[0], beta[0])), sorted(plain[0], beta[0])},
		{"ids and filter", &ec2.DescribeInstancesInput{InstanceIds: []string{alpha[0], beta[0]}, Filters: []ec2types.Filter{f("tag:cluster", "alpha")}}, []string{alpha[0]}},
		{"no match", filterInput(f("tag:cluster", "gamma")), nil},
	} {
		got := keys(describe(t, c, tc.in))
		if !equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}

	_, err := c.DescribeInstances(ctx(t), filterInput(f("colour", "red")))
	wantAPIError(t, err, "InvalidParameterValue", http.StatusBadRequest)
}

func TestDescribeInstancesGroupsReservations(t *testing.T) {
	e := startServer(t, nil)
	c := sdkClient(t, e)
	run(t, c, 3, nil)
	run(t, c, 2, nil)
	out, err := c.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Reservations) != 2 || len(out.Reservations[0].Instances) != 3 || len(out.Reservations[1].Instances) != 2 {
		t.Fatalf("reservations = %+v, want 3 then 2 instances", out.Reservations)
	}
	if out.NextToken != nil {
		t.Errorf("NextToken = %q without MaxResults", aws.ToString(out.NextToken))
	}
}

func TestDescribeInstancesPagination(t *testing.T) {
	e := startServer(t, nil)
	c := sdkClient(t, e)
	var want []string
	for i := 0; i < 4; i++ {
		want = append(want, run(t, c, 3, map[string]string{"cluster": "p"})...)
	}
	run(t, c, 1, map[string]string{"cluster": "other"})

	var got []int
	var ids []string
	pages := ec2.NewDescribeInstancesPaginator(c, &ec2.DescribeInstancesInput{
		MaxResults: aws.Int32(5), Filters: []ec2types.Filter{f("tag:cluster", "p")}})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range page.Reservations {
			for _, inst := range r.Instances {
				ids = append(ids, aws.ToString(inst.InstanceId))
				n++
			}
		}
		got = append(got, n)
	}
	if !equal(ids, want) {
		t.Errorf("paginated ids = %v, want %v in launch order", ids, want)
	}
	if len(got) != 3 || got[0] != 5 || got[1] != 5 || got[2] != 2 {
		t.Errorf("page sizes = %v, want [5 5 2]", got)
	}

	_, err := c.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{MaxResults: aws.Int32(4)})
	wantAPIError(t, err, "InvalidParameterValue", http.StatusBadRequest)
	_, err = c.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5), InstanceIds: want[:1]})
	wantAPIError(t, err, "InvalidParameterCombination", http.StatusBadRequest)
	_, err = c.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{NextToken: aws.String("garbage")})
	wantAPIError(t, err, "InvalidPaginationToken", http.StatusBadRequest)
}

func TestDescribeInstancesUnknownIDs(t *testing.T) {
	e := startServer(t, nil)
	c := sdkClient(t, e)
	ids := run(t, c, 1, nil)

	_, err := c.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{InstanceIds: []string{ids[0], "i-0123456789abcdef0"}})
	wantAPIError(t, err, "InvalidInstanceID.NotFound", http.StatusBadRequest)
	_, err = c.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{InstanceIds: []string{"i-12345"}})
	wantAPIError(t, err, "InvalidInstanceID.Malformed", http.StatusBadRequest)
	_, err = c.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{InstanceIds: []string{"web-1"}})
	wantAPIError(t, err, "InvalidInstanceID.Malformed", http.StatusBadRequest)

	// Old 8-digit ids are well formed, merely unknown.
	_, err = c.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0123abcd"}})
	wantAPIError(t, err, "InvalidInstanceID.NotFound", http.StatusBadRequest)

	got := describe(t, c, &ec2.DescribeInstancesInput{InstanceIds: []string{ids[0], ids[0]}})
	if len(got) != 1 {
		t.Errorf("a repeated id returned %d instances", len(got))
	}
}

func TestDescribeInstanceStatus(t *testing.T) {
	e := startServer(t, nil)
	c := sdkClient(t, e)
	ids := run(t, c, 3, nil)
	for _, id := range ids {
		if err := e.SetState(id, StateRunning); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.SetState(ids[2], StateStopped); err != nil {
		t.Fatal(err)
	}
	if err := e.SetImpaired(ids[1], true); err != nil {
		t.Fatal(err)
	}

	status := func(in *ec2.DescribeInstanceStatusInput) map[string]ec2types.InstanceStatus {
		t.Helper()
		out, err := c.DescribeInstanceStatus(ctx(t), in)
		if err != nil {
			t.Fatalf("DescribeInstanceStatus: %v", err)
		}
		m := map[string]ec2types.InstanceStatus{}
		for _, s := range out.InstanceStatuses {
			m[aws.ToString(s.InstanceId)] = s
		}
		return m
	}

	running := status(&ec2.DescribeInstanceStatusInput{})
	if len(running) != 2 {
		t.Fatalf("default DescribeInstanceStatus returned %d, want the 2 running", len(running))
	}
	ok, bad := running[ids[0]], running[ids[1]]
	if ok.InstanceStatus.Status != ec2types.SummaryStatusOk || ok.SystemStatus.Status != ec2types.SummaryStatusOk ||
		ok.InstanceStatus.Details[0].Status != ec2types.StatusTypePassed || ok.InstanceStatus.Details[0].Name != ec2types.StatusNameReachability {
		t.Errorf("healthy instance status = %+v / %+v", ok.InstanceStatus, ok.SystemStatus)
	}
	if bad.InstanceStatus.Status != ec2types.SummaryStatusImpaired || bad.SystemStatus.Status != ec2types.SummaryStatusImpaired ||
		bad.SystemStatus.Details[0].Status != ec2types.StatusTypeFailed {
		t.Errorf("impaired instance status = %+v / %+v", bad.InstanceStatus, bad.SystemStatus)
	}
	if aws.ToString(ok.AvailabilityZone) == "" || ok.InstanceState.Name != ec2types.InstanceStateNameRunning || aws.ToInt32(ok.InstanceState.Code) != 16 {
		t.Errorf("status zone/state = %q/%+v", aws.ToString(ok.AvailabilityZone), ok.InstanceState)
	}

	all := status(&ec2.DescribeInstanceStatusInput{IncludeAllInstances: aws.Bool(true)})
	stopped, found := all[ids[2]]
	if len(all) != 3 || !found || stopped.InstanceState.Name != ec2types.InstanceStateNameStopped ||
		stopped.InstanceStatus.Status != ec2types.SummaryStatusNotApplicable {
		t.Errorf("IncludeAllInstances: %d statuses, stopped one = %+v", len(all), stopped)
	}

	if got := status(&ec2.DescribeInstanceStatusInput{InstanceIds: []string{ids[2]}}); len(got) != 0 {
		t.Errorf("a stopped instance named by id without IncludeAllInstances was listed")
	}
	if got := status(&ec2.DescribeInstanceStatusInput{Filters: []ec2types.Filter{f("instance-status.status", "impaired")}}); len(got) != 1 || got[ids[1]].InstanceId == nil {
		t.Errorf("filter instance-status.status=impaired returned %v", got)
	}

	if err := e.SetImpaired(ids[1], false); err != nil {
		t.Fatal(err)
	}
	if got := status(&ec2.DescribeInstanceStatusInput{InstanceIds: []string{ids[1]}}); got[ids[1]].InstanceStatus.Status != ec2types.SummaryStatusOk {
		t.Errorf("after SetImpaired(false): %+v", got[ids[1]].InstanceStatus)
	}

	_, err := c.DescribeInstanceStatus(ctx(t), &ec2.DescribeInstanceStatusInput{InstanceIds: []string{"i-0000000000000000a"}})
	wantAPIError(t, err, "InvalidInstanceID.NotFound", http.StatusBadRequest)
	_, err = c.DescribeInstanceStatus(ctx(t), &ec2.DescribeInstanceStatusInput{Filters: []ec2types.Filter{f("tag:cluster", "x")}})
	wantAPIError(t, err, "InvalidParameterValue", http.StatusBadRequest)

	if err := e.SetImpaired("i-0000000000000000a", true); err == nil {
		t.Error("SetImpaired of an unknown instance succeeded")
	}
}

func TestDescribeInstanceStatusPagination(t *testing.T) {
	e := startServer(t, nil)
	c := sdkClient(t, e)
	ids := run(t, c, 7, nil)
	pages := ec2.NewDescribeInstanceStatusPaginator(c, &ec2.DescribeInstanceStatusInput{
		IncludeAllInstances: aws.Bool(true), MaxResults: aws.Int32(5)})
	var got []string
	n := 0
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		n++
		for _, s := range page.InstanceStatuses {
			got = append(got, aws.ToString(s.InstanceId))
		}
	}
	if n != 2 || !equal(got, ids) {
		t.Errorf("%d pages with %v, want 2 pages with %v", n, got, ids)
	}
}

func TestCreateTags(t *testing.T) {
	e := startServer(t, nil)
	c := sdkClient(t, e)
	ids := run(t, c, 2, map[string]string{"cluster": "c1"})
	_, err := c.CreateTags(ctx(t), &ec2.CreateTagsInput{
		Resources: ids[:1],
		Tags:      toTags(map[string]string{"replaces": "i-0123456789abcdef0", "cluster": "c9"}),
	})
	if err != nil {
		t.Fatalf("CreateTags: %v", err)
	}
	got := describe(t, c, filterInput(f("tag:replaces", "i-0123456789abcdef0")))
	if len(got) != 1 || got[ids[0]].InstanceId == nil {
		t.Fatalf("tag:replaces filter found %v", keys(got))
	}
	if inst, _ := e.Instance(ids[0]); inst.Tags["cluster"] != "c9" {
		t.Errorf("CreateTags did not overwrite cluster: %v", inst.Tags)
	}
	if inst, _ := e.Instance(ids[1]); inst.Tags["cluster"] != "c1" || len(inst.Tags) != 1 {
		t.Errorf("CreateTags touched an instance it was not given: %v", inst.Tags)
	}

	_, err = c.CreateTags(ctx(t), &ec2.CreateTagsInput{Resources: []string{"i-0000000000000000b"}, Tags: toTags(map[string]string{"a": "b"})})
	wantAPIError(t, err, "InvalidInstanceID.NotFound", http.StatusBadRequest)
	_, err = c.CreateTags(ctx(t), &ec2.CreateTagsInput{Resources: []string{"vol-0123456789abcdef0"}, Tags: toTags(map[string]string{"a": "b"})})
	wantAPIError(t, err, "InvalidID", http.StatusBadRequest)
	// The SDK refuses to send CreateTags without tags; send it by hand.
	if got := postForm(t, e, url.Values{"Action": {"CreateTags"}, "Version": {"2016-11-15"}, "ResourceId.1": {ids[0]}}, true); got.status != 400 || got.code != "MissingParameter" {
		t.Errorf("CreateTags without Tag.N: %d %q", got.status, got.code)
	}
	_, err = c.CreateTags(ctx(t), &ec2.CreateTagsInput{Resources: ids, Tags: toTags(map[string]string{"x": "y"}), DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", http.StatusPreconditionFailed)
	if inst, _ := e.Instance(ids[0]); inst.Tags["x"] != "" {
		t.Error("a dry run applied its tags")
	}
}
