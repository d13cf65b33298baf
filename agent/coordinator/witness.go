package coordinator

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/farmhand/farmhand/bootstrap/awscall"
)

const (
	// filterChunk is how many values one DescribeInstances filter carries.
	filterChunk = 199
	// statusChunk is how many ids one DescribeInstanceStatus call carries.
	statusChunk = 100
)

// instanceInfo is one instance as DescribeInstances returned it.
type instanceInfo struct {
	ID         string
	State      ec2types.InstanceStateName
	LaunchTime time.Time
	Tags       map[string]string
}

// ec2Reader asks EC2 the read-only questions (the SDK's retryer, EC2Retryer,
// retries throttling inside each call).
type ec2Reader struct {
	api EC2API
}

// describe runs a paginated DescribeInstances with filters.
func (r ec2Reader) describe(ctx context.Context, filters []ec2types.Filter) (map[string]instanceInfo, error) {
	out := map[string]instanceInfo{}
	var next *string
	for {
		in := &ec2.DescribeInstancesInput{Filters: filters, NextToken: next}
		page, err := r.api.DescribeInstances(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("coordinator: ec2 DescribeInstances: %w", err)
		}
		for _, res := range page.Reservations {
			for _, inst := range res.Instances {
				info := instanceInfo{ID: aws.ToString(inst.InstanceId), LaunchTime: aws.ToTime(inst.LaunchTime), Tags: map[string]string{}}
				if inst.State != nil {
					info.State = inst.State.Name
				}
				for _, t := range inst.Tags {
					info.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
				}
				out[info.ID] = info
			}
		}
		if aws.ToString(page.NextToken) == "" {
			return out, nil
		}
		next = page.NextToken
	}
}

// byIDs describes the given instances with an instance-id filter, which,
// unlike InstanceIds, does not fail the whole call when one id is unknown:
// an id not returned is missing.
func (r ec2Reader) byIDs(ctx context.Context, ids []string) (map[string]instanceInfo, error) {
	out := map[string]instanceInfo{}
	for chunk := range slices.Chunk(ids, filterChunk) {
		m, err := r.describe(ctx, []ec2types.Filter{{Name: aws.String("instance-id"), Values: chunk}})
		if err != nil {
			return nil, err
		}
		for k, v := range m {
			out[k] = v
		}
	}
	return out, nil
}

// InstanceStates returns the EC2 state of each of ids that EC2 knows
// ("running", "terminated", ...); an unknown id is absent, not an error.
// One paginated DescribeInstances (instance-id filter) per 199 ids.
func InstanceStates(ctx context.Context, api EC2API, ids []string) (map[string]string, error) {
	infos, err := ec2Reader{api: api}.byIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(infos))
	for id, in := range infos {
		out[id] = string(in.State)
	}
	return out, nil
}

// scanCluster describes every instance tagged with the cluster, in any
// state: the launches that have not joined gossip yet, and the state of
// every dead member whose instance carries the tag.
func (r ec2Reader) scanCluster(ctx context.Context, cluster string) (map[string]instanceInfo, error) {
	return r.describe(ctx, []ec2types.Filter{{Name: aws.String("tag:" + TagCluster), Values: []string{cluster}}})
}

// byClientToken returns the instances a RunInstances call with token launched.
func (r ec2Reader) byClientToken(ctx context.Context, token string) ([]string, error) {
	m, err := r.describe(ctx, []ec2types.Filter{{Name: aws.String("client-token"), Values: []string{token}}})
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}

// statuses returns the worse of each instance's instance and system status
// checks. A chunk EC2 rejects as not found (the instance vanished between
// calls) leaves those statuses unknown.
func (r ec2Reader) statuses(ctx context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for chunk := range slices.Chunk(ids, statusChunk) {
		in := &ec2.DescribeInstanceStatusInput{InstanceIds: chunk, IncludeAllInstances: aws.Bool(true)}
		for {
			page, err := r.api.DescribeInstanceStatus(ctx, in)
			if awscall.Is(err, awscall.InstanceNotFound) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("coordinator: ec2 DescribeInstanceStatus: %w", err)
			}
			for _, s := range page.InstanceStatuses {
				out[aws.ToString(s.InstanceId)] = worstStatus(s.InstanceStatus, s.SystemStatus)
			}
			if aws.ToString(page.NextToken) == "" {
				break
			}
			in.NextToken = page.NextToken
		}
	}
	return out, nil
}

// worstStatus is "impaired" if either check is, else the instance check's
// status, else the system check's.
func worstStatus(checks ...*ec2types.InstanceStatusSummary) string {
	worst := ""
	for _, c := range checks {
		if c == nil {
			continue
		}
		switch {
		case c.Status == ec2types.SummaryStatusImpaired:
			return string(c.Status)
		case worst == "":
			worst = string(c.Status)
		}
	}
	return worst
}

// witnesses turns EC2's answers into the witnesses of asked, the ids
// described this round (absent from infos: missing), with the status
// checks of those pending or running (one DescribeInstanceStatus per 100).
func (r ec2Reader) witnesses(ctx context.Context, asked []string, infos map[string]instanceInfo) (map[string]witness, error) {
	out := make(map[string]witness, len(asked))
	var live []string
	for _, id := range asked {
		info, ok := infos[id]
		out[id] = witness{Asked: true, Found: ok, State: info.State, LaunchTime: info.LaunchTime, ASGroup: info.Tags[TagASGroup]}
		if ok && (info.State == ec2types.InstanceStateNameRunning || info.State == ec2types.InstanceStateNamePending) {
			live = append(live, id)
		}
	}
	st, err := r.statuses(ctx, live)
	if err != nil {
		return nil, err
	}
	for id, s := range st {
		if w, ok := out[id]; ok {
			w.Status = s
			out[id] = w
		}
	}
	return out, nil
}
