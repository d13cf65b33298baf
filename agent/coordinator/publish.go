package coordinator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/membership"
)

const (
	// ViewVersion is the version of the published view's JSON.
	ViewVersion = 1
	// ViewObject is the published view's key under the cluster's prefix,
	// beside "lease" and "ledger.json".
	ViewObject = "view.json"
	// LeaseObject and LedgerObject are the lease's and the ledger's keys
	// under the cluster's prefix.
	LeaseObject  = "lease"
	LedgerObject = "ledger.json"
	// PublishEvery is the least time between two writes of the view: at
	// most 43,200 PUTs a month ($0.22 at $0.005 per 1,000), however often
	// the cluster changes.
	PublishEvery = time.Minute
	// RefreshEvery is how often an unchanged view is rewritten (same
	// Index, new Time), so that its age tells a reader whether a leader
	// is publishing: a view older than that has no publisher.
	RefreshEvery = 10 * time.Minute
)

// FarmView is the compact view of the cluster that the leader publishes to
// <Prefix>view.json, for operators who can read S3 but cannot reach the
// gossip port ("farmhand status"). It is written when its content
// changed, at most once per PublishEvery, and rewritten unchanged every
// RefreshEvery, only while the writer may act; it is informational and
// never read by the agents. A new leader reads it once to continue Index.
type FarmView struct {
	// Version is ViewVersion.
	Version int `json:"version"`
	// Cluster is the cluster name.
	Cluster string `json:"cluster"`
	// Index increases by one at every published change, across leaders
	// (not at a refresh).
	Index uint64 `json:"index"`
	// Time is when the view was published, by the publisher's clock.
	Time time.Time `json:"time"`
	// Members are the leader's view of the cluster, sorted by name.
	Members []ViewMember `json:"members"`
	// Coordinator is the publishing leader's state.
	Coordinator ViewCoordinator `json:"coordinator"`
}

// ViewMember is one member of a FarmView.
type ViewMember struct {
	Name   string            `json:"name"`
	Addr   string            `json:"addr"`
	Status membership.Status `json:"status"`
	Role   string            `json:"role,omitempty"`
	AZ     string            `json:"az,omitempty"`
	// Since is when the member entered Status in the leader's view.
	Since time.Time `json:"since,omitzero"`
}

// ViewCoordinator is the coordinator's state in a FarmView.
type ViewCoordinator struct {
	// Leader is the publishing leader's node name.
	Leader string `json:"leader"`
	// Epoch is its lease epoch.
	Epoch  uint64 `json:"epoch"`
	DryRun bool   `json:"dry_run,omitempty"`
	// Groups are the configured groups, frozen or not, and why.
	Groups []GroupStatus `json:"groups"`
	// Pending counts the ledger's unfinished batches.
	Pending int `json:"pending"`
}

// sameContent reports whether v and o differ only in Index and Time.
func (v *FarmView) sameContent(o *FarmView) bool {
	a, b := *v, *o
	a.Index, b.Index, a.Time, b.Time = 0, 0, time.Time{}, time.Time{}
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// publisher writes the FarmView. Only the coordinator's tick calls it.
type publisher struct {
	store  ObjectStore
	bucket string
	key    string
	clock  clockwork.Clock
	log    hclog.Logger

	// epoch is the term last read from or written in; a new term reads
	// the stored view once to continue its Index.
	epoch uint64
	last  *FarmView // as last stored (nil: none, or not yet read)
	wrote time.Time // when this publisher last wrote
	// tried is when this publisher last sent a request (GET or PUT),
	// whether it worked or not: a failing S3 (access denied, an outage)
	// gets one attempt per PublishEvery, not one per tick.
	tried time.Time
	puts  int
}

// publish writes v if its content differs from the stored view, or
// RefreshEvery passed since this publisher's last write; either way at
// most one attempt per PublishEvery. A change held back by the rate limit
// is written by a later tick. It returns whether it wrote.
func (p *publisher) publish(ctx context.Context, v FarmView) (bool, error) {
	v.Version = ViewVersion
	now := p.clock.Now()
	due := p.tried.IsZero() || now.Sub(p.tried) >= PublishEvery
	if v.Coordinator.Epoch != p.epoch {
		if !due {
			return false, nil
		}
		p.tried = now
		stored, err := ReadView(ctx, p.store, p.bucket, p.key)
		if err != nil {
			// Unreadable garbage is overwritten, with a new index series;
			// an S3 failure is retried after PublishEvery.
			if !errors.Is(err, errBadView) {
				return false, err
			}
			p.log.Warn("overwriting an unreadable published view", "error", err)
		}
		p.epoch, p.last = v.Coordinator.Epoch, stored
	}
	same := p.last != nil && p.last.sameContent(&v)
	if same && !p.wrote.IsZero() && now.Sub(p.wrote) < RefreshEvery {
		return false, nil
	}
	if !due {
		return false, nil
	}
	p.tried = now
	v.Time, v.Index = now, 1
	switch {
	case same:
		v.Index = p.last.Index
	case p.last != nil:
		v.Index = p.last.Index + 1
	}
	body, err := json.Marshal(&v)
	if err != nil {
		return false, fmt.Errorf("coordinator: encode view: %w", err)
	}
	_, err = p.store.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(p.bucket), Key: aws.String(p.key),
		Body: bytes.NewReader(body), ContentType: aws.String("application/json"),
	})
	if err != nil {
		return false, fmt.Errorf("coordinator: put s3://%s/%s: %w", p.bucket, p.key, err)
	}
	v.Members, v.Coordinator.Groups = slices.Clone(v.Members), slices.Clone(v.Coordinator.Groups)
	p.wrote, p.last = now, &v
	p.puts++
	p.log.Debug("published the cluster view", "index", v.Index, "members", len(v.Members))
	return true, nil
}

// errBadView means the stored view is not a view's JSON.
var errBadView = errors.New("the published view is not valid JSON")

// ReadView reads a published view; (nil, nil) when there is none.
func ReadView(ctx context.Context, store ObjectStore, bucket, key string) (*FarmView, error) {
	body, _, err := getObject(ctx, store, bucket, key)
	if err != nil || body == nil {
		return nil, err
	}
	var v FarmView
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("coordinator: %w: s3://%s/%s: %v", errBadView, bucket, key, err)
	}
	return &v, nil
}

// farmView is the view this leader would publish now.
func (c *Coordinator) farmView() FarmView {
	st := c.Status()
	v := FarmView{Cluster: c.cfg.Cluster, Members: []ViewMember{}, Coordinator: ViewCoordinator{
		Leader: c.holder, Epoch: c.lease.epoch(), DryRun: c.cfg.DryRun, Groups: st.Groups, Pending: len(st.Pending),
	}}
	for _, m := range c.view.Members() {
		v.Members = append(v.Members, ViewMember{Name: m.Name, Addr: m.Addr, Status: m.Status, Role: m.Tags["role"], AZ: m.Tags["az"], Since: m.Since})
	}
	slices.SortFunc(v.Members, func(a, b ViewMember) int { return strings.Compare(a.Name, b.Name) })
	return v
}

// publishView publishes the view if it changed (rate-limited); a failure
// is logged and retried by a later tick, never a decision: the view is
// for operators, not for safety.
func (c *Coordinator) publishView(ctx context.Context) {
	if !c.lease.canAct() {
		return
	}
	if _, err := c.pub.publish(ctx, c.farmView()); err != nil && ctx.Err() == nil {
		c.cfg.Logger.Warn("publishing the cluster view failed, retried at the next tick", "error", err)
	}
}
