package coordinator

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/bootstrap/awscall"
)

// errNotLeader stops the actor when the lease no longer allows acting.
var errNotLeader = errors.New("coordinator: lease not held or about to expire: stopped acting")

// act carries out a plan: first the batches already in the ledger, then one
// new batch per group (its replacements and its top-up together). Each new
// batch is written to the ledger before its RunInstances call. In dry run
// it does nothing.
func (c *Coordinator) act(ctx context.Context, p *Plan) error {
	if c.cfg.DryRun {
		return nil
	}
	for _, b := range p.Resume {
		if err := c.launchBatch(ctx, p, b.ID); err != nil {
			return err
		}
	}
	for _, g := range p.Groups {
		if len(g.Replace) == 0 && g.TopUp == 0 {
			continue
		}
		if !c.lease.canAct() {
			return errNotLeader
		}
		now := c.cfg.Clock.Now()
		var b Batch
		c.led.update(func(st *ledgerState) {
			if g.TopUp > 0 {
				st.TopUpSeq++
			}
			b = newBatch(c.cfg.Cluster, g.Name, g.Replace, g.Keep, g.TopUp, st.TopUpSeq, p.Epoch, now)
			st.Batches = append(st.Batches, b)
			for range b.Count() {
				st.Launches = append(st.Launches, now)
			}
			for _, id := range b.Replaces {
				st.Replaced[id] = now
			}
		})
		if err := c.launchBatch(ctx, p, b.ID); err != nil {
			return err
		}
	}
	return nil
}

// launchBatch terminates the batch's dead instances that still exist and
// runs its RunInstances call. The ledger is persisted first, so the call is
// never made for a batch a successor would not know about. Failures of EC2
// are recorded and retried on a later tick; a lost lease or ledger stops
// the actor.
func (c *Coordinator) launchBatch(ctx context.Context, p *Plan, id string) error {
	if err := c.persist(ctx); err != nil {
		return err
	}
	st := c.led.snapshot()
	bp := st.batch(id)
	if bp == nil || !bp.pending() {
		return nil
	}
	b := *bp
	g, ok := c.group(b.Group)
	if !ok {
		c.decide(Decision{Action: ActionError, Code: CodeLaunchFailed, Group: b.Group, Batch: b.ID,
			Reason: fmt.Sprintf("batch %s is for group %q, which is no longer configured: restore the group or delete the batch from the ledger", b.ID, b.Group)})
		return nil
	}

	var doomed []string
	for _, r := range b.Replaces {
		w := p.witnesses[r]
		if slices.Contains(b.Keep, r) || w.ASGroup != "" {
			continue // replaced at a notice, or owned by an Auto Scaling group: never terminated
		}
		if w.Found && w.State != ec2types.InstanceStateNameTerminated && w.State != ec2types.InstanceStateNameShuttingDown {
			doomed = append(doomed, r)
		}
	}
	if len(doomed) > 0 {
		actx, cancel, err := c.actWindow(ctx)
		if err != nil {
			return err
		}
		err = c.terminate(actx, doomed)
		cancel()
		if err != nil && c.windowClosed(ctx) {
			return errNotLeader // the window closed during the call
		}
		if err != nil {
			c.decide(Decision{Action: ActionError, Code: CodeTerminateFail, Group: b.Group, Batch: b.ID, Instances: doomed,
				Reason: fmt.Sprintf("TerminateInstances failed, replacement postponed (check the IAM policy and the %s tag): %v", TagCluster, err)})
			return nil
		}
		c.decide(Decision{Action: ActionTerminate, Code: CodeOK, Group: b.Group, Batch: b.ID, Instances: doomed,
			Reason: fmt.Sprintf("terminated %d dead instance(s) before replacing them", len(doomed))})
	}

	tries := max(1, len(g.Subnets))
	for range tries {
		actx, cancel, err := c.actWindow(ctx)
		if err != nil {
			return err
		}
		in := runInput(c.cfg.Cluster, g, &b)
		out, err := c.ec2.RunInstances(actx, in)
		var launched []string
		switch {
		case err == nil:
			// An answer is recorded even if the window closed as it came:
			// the ledger write is fenced if another leader took over.
			for _, inst := range out.Instances {
				launched = append(launched, aws.ToString(inst.InstanceId))
			}
		case c.windowClosed(ctx):
			// The acting window closed during the call: whether it
			// launched is unknown, and only the ledger's ClientToken
			// may tell; this leader stops here.
			cancel()
			return errNotLeader
		case awscall.Is(err, awscall.IdempotentMismatch):
			// The token was used with other parameters (the group changed
			// while the batch was pending): adopt what it launched.
			ids, derr := c.reader.byClientToken(actx, b.Token)
			if derr != nil {
				cancel()
				return c.launchFailed(&b, fmt.Errorf("%w (and looking the token up failed: %v)", err, derr))
			}
			launched = ids
		}
		cancel()
		if len(launched) > 0 {
			slices.Sort(launched)
			now := c.cfg.Clock.Now()
			c.led.update(func(st *ledgerState) {
				if sb := st.batch(b.ID); sb != nil {
					sb.Launched, sb.LaunchedAt = launched, now
				}
			})
			what := fmt.Sprintf("top-up of %d", b.TopUp)
			switch n := len(b.Replaces); {
			case n > 5:
				what = fmt.Sprintf("replacing %d instances (see the batch) and top-up of %d", n, b.TopUp)
			case n > 0:
				what = fmt.Sprintf("replacing %s and top-up of %d", strings.Join(b.Replaces, ", "), b.TopUp)
			}
			c.decide(Decision{Action: ActionLaunch, Code: CodeOK, Group: b.Group, Batch: b.ID, Instances: launched,
				Reason: fmt.Sprintf("launched %d instance(s) in group %s (%s) with ClientToken %s", len(launched), b.Group, what, b.Token)})
			return c.persist(ctx)
		}
		if !awscall.Is(err, awscall.InsufficientCapacity) && !awscall.Is(err, awscall.IdempotentMismatch) {
			return c.launchFailed(&b, err)
		}
		// Nothing was launched: move to the next subnet with a new token,
		// recorded before the call.
		c.led.update(func(st *ledgerState) {
			if sb := st.batch(b.ID); sb != nil {
				sb.nextAttempt(c.cfg.Cluster)
				b = *sb
			}
		})
		c.decide(Decision{Action: ActionReport, Code: CodeCapacity, Group: b.Group, Batch: b.ID,
			Reason: fmt.Sprintf("no launch (%v): trying attempt %d in subnet %q", err, b.Attempt, subnetFor(g, &b))})
		if err := c.persist(ctx); err != nil {
			return err
		}
	}
	return nil
}

// launchFailed records a failed RunInstances; the batch stays pending.
func (c *Coordinator) launchFailed(b *Batch, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	c.decide(Decision{Action: ActionError, Code: CodeLaunchFailed, Group: b.Group, Batch: b.ID,
		Reason: fmt.Sprintf("RunInstances failed, retried next tick with the same ClientToken %s: %v", b.Token, err)})
	return nil
}

// actWindow returns a context that ends when this leader must stop acting
// (lease.actUntil), for the EC2 mutations: no request, first or retried,
// leaves after it. It fails with errNotLeader when that time has passed.
// The caller cancels it.
func (c *Coordinator) actWindow(ctx context.Context) (context.Context, context.CancelFunc, error) {
	until, ok := c.lease.actUntil()
	if !ok || !c.cfg.Clock.Now().Before(until) {
		return nil, nil, errNotLeader
	}
	actx, cancel := clockwork.WithDeadline(ctx, c.cfg.Clock, until)
	return actx, cancel, nil
}

// windowClosed reports whether this leader's acting window has closed
// while ctx (the coordinator's own) goes on.
func (c *Coordinator) windowClosed(ctx context.Context) bool {
	until, ok := c.lease.actUntil()
	return ctx.Err() == nil && (!ok || !c.cfg.Clock.Now().Before(until))
}

// terminate terminates ids; an id EC2 no longer knows is already gone.
// ctx carries the acting window.
func (c *Coordinator) terminate(ctx context.Context, ids []string) error {
	call := func(ids []string) error {
		_, err := c.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids})
		return err
	}
	err := call(ids)
	if !awscall.Is(err, awscall.InstanceNotFound) {
		return err
	}
	for _, id := range ids {
		if err := call([]string{id}); err != nil && !awscall.Is(err, awscall.InstanceNotFound) {
			return err
		}
	}
	return nil
}

// subnetFor is the subnet of the batch's current attempt, or "".
func subnetFor(g Group, b *Batch) string {
	if len(g.Subnets) == 0 {
		return ""
	}
	return g.Subnets[b.Attempt%len(g.Subnets)]
}

// runInput is the RunInstances call of a batch: MinCount = MaxCount = its
// size (all or nothing), its ClientToken, and the tags applied at launch.
func runInput(cluster string, g Group, b *Batch) *ec2.RunInstancesInput {
	n := int32(b.Count())
	in := &ec2.RunInstancesInput{
		MinCount:    aws.Int32(n),
		MaxCount:    aws.Int32(n),
		ClientToken: aws.String(b.Token),
	}
	if g.LaunchTemplate != "" {
		spec := &ec2types.LaunchTemplateSpecification{Version: aws.String(cmp.Or(g.LaunchTemplateVersion, "$Default"))}
		if strings.HasPrefix(g.LaunchTemplate, "lt-") {
			spec.LaunchTemplateId = aws.String(g.LaunchTemplate)
		} else {
			spec.LaunchTemplateName = aws.String(g.LaunchTemplate)
		}
		in.LaunchTemplate = spec
	}
	if g.ImageID != "" {
		in.ImageId = aws.String(g.ImageID)
	}
	if g.InstanceType != "" {
		in.InstanceType = ec2types.InstanceType(g.InstanceType)
	}
	if s := subnetFor(g, b); s != "" {
		in.SubnetId = aws.String(s)
	}
	if len(g.SecurityGroups) > 0 {
		in.SecurityGroupIds = slices.Clone(g.SecurityGroups)
	}
	if p := g.InstanceProfile; p != "" {
		if strings.HasPrefix(p, "arn:") {
			in.IamInstanceProfile = &ec2types.IamInstanceProfileSpecification{Arn: aws.String(p)}
		} else {
			in.IamInstanceProfile = &ec2types.IamInstanceProfileSpecification{Name: aws.String(p)}
		}
	}
	if g.KeyName != "" {
		in.KeyName = aws.String(g.KeyName)
	}
	if g.UserData != "" {
		in.UserData = aws.String(base64.StdEncoding.EncodeToString([]byte(g.UserData)))
	}
	tags := maps.Clone(g.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	tags[TagCluster], tags[TagGroup], tags[TagBatch] = cluster, g.Name, b.ID
	if r := b.replacesTag(); r != "" {
		tags[TagReplaces] = r
	}
	spec := ec2types.TagSpecification{ResourceType: ec2types.ResourceTypeInstance}
	for _, k := range sortedKeys(tags) {
		spec.Tags = append(spec.Tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	in.TagSpecifications = []ec2types.TagSpecification{spec}
	return in
}
