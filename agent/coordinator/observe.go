package coordinator

import (
	"context"
	"slices"
	"time"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// observer gathers EC2's evidence for the leader's plans with at most one
// DescribeInstances per round, whatever the churn. A round normally scans
// the cluster's tagged instances in every state: that gives the launches
// that have not joined yet and witnesses every dead member whose instance
// carries the farmhand:cluster tag. A dead member the scan does not return
// (an untagged instance, or one EC2 no longer knows) is asked by id in the
// next round instead, which reuses the previous scan for the launches.
// Status checks (DescribeInstanceStatus, one call per 100 ids) are asked
// only for dead members whose machine is pending or running.
//
// Not safe for concurrent use: the tick owns it.
type observer struct {
	reader  ec2Reader
	cluster string
	// scan is the last scan (nil before the first) and scannedAt its time.
	scan      map[string]instanceInfo
	scannedAt time.Time
	// byID are candidates the last scan did not return, to ask by id.
	byID map[string]bool
}

// observation is one round's answer.
type observation struct {
	// cluster are the cluster's pending and running instances.
	cluster map[string]instanceInfo
	// scan is the last scan of the cluster's tagged instances, in every
	// state (nil before the first): where the instances of members that
	// left are, stopped or running.
	scan map[string]instanceInfo
	// witnesses hold EC2's answer for each candidate asked this round; a
	// candidate left out is asked next round (witness.Deferred).
	witnesses map[string]witness
}

// round makes this round's DescribeInstances (a scan, or a by-id query for
// what the last scan missed) and the status checks it needs.
func (o *observer) round(ctx context.Context, now time.Time, candidates []string) (observation, error) {
	var retry []string
	for _, id := range candidates {
		if o.byID[id] {
			retry = append(retry, id)
		}
	}
	var infos map[string]instanceInfo
	var asked []string
	if len(retry) > 0 && o.scan != nil {
		m, err := o.reader.byIDs(ctx, retry)
		if err != nil {
			return observation{}, err
		}
		infos, asked = m, retry
		o.byID = nil
	} else {
		scan, err := o.reader.scanCluster(ctx, o.cluster)
		if err != nil {
			return observation{}, err
		}
		o.scan, o.scannedAt, o.byID = scan, now, map[string]bool{}
		infos = scan
		for _, id := range candidates {
			if _, ok := scan[id]; ok {
				asked = append(asked, id)
			} else {
				o.byID[id] = true
			}
		}
	}
	wit, err := o.reader.witnesses(ctx, asked, infos)
	if err != nil {
		return observation{}, err
	}
	for _, id := range candidates {
		if _, ok := wit[id]; !ok {
			wit[id] = witness{Deferred: true}
		}
	}
	return observation{cluster: o.live(), scan: o.scan, witnesses: wit}, nil
}

// cached answers from the last scan without calling EC2: no witnesses.
func (o *observer) cached() observation {
	return observation{cluster: o.live(), scan: o.scan, witnesses: map[string]witness{}}
}

// full is a round with no memory, for Plan: a scan, then the candidates it
// did not return by id at once (up to two DescribeInstances).
func (o *observer) full(ctx context.Context, now time.Time, candidates []string) (observation, error) {
	fresh := &observer{reader: o.reader, cluster: o.cluster}
	obs, err := fresh.round(ctx, now, candidates)
	if err != nil || len(fresh.byID) == 0 {
		return obs, err
	}
	more, err := fresh.round(ctx, now, candidates)
	if err != nil {
		return observation{}, err
	}
	for id, w := range more.witnesses {
		if !w.Deferred {
			obs.witnesses[id] = w
		}
	}
	return obs, nil
}

// live returns the pending and running instances of the last scan.
func (o *observer) live() map[string]instanceInfo {
	out := map[string]instanceInfo{}
	for id, in := range o.scan {
		if slices.Contains([]ec2types.InstanceStateName{ec2types.InstanceStateNamePending, ec2types.InstanceStateNameRunning}, in.State) {
			out[id] = in
		}
	}
	return out
}
