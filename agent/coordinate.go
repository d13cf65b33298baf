package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/agent/config"
	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/membership"
)

// coordinatorConfig translates the config's coordinator block.
func (a *Agent) coordinatorConfig(cfg *config.Config) coordinator.Config {
	cc := coordinator.DefaultConfig()
	c := cfg.Coordinator
	cc.Cluster = cfg.Cluster
	cc.Bucket = cfg.Registry.Bucket
	cc.Prefix = a.registry.ClusterPrefix()
	cc.Interval = c.Interval
	cc.DeadGrace = c.DeadGrace
	cc.BatchWindow = c.BatchWindow
	cc.SilentGrace = c.SilentGrace
	cc.NewInstanceGrace = c.NewInstanceGrace
	cc.FreezeThreshold = c.FreezeThreshold
	cc.MaxReplacements = c.MaxReplacements
	cc.ReplacementWindow = c.ReplacementWindow
	cc.LeaseTTL = c.LeaseTTL
	cc.DryRun = c.DryRun
	if r := cfg.Gossip.ReapTime; r > 0 && cc.Retention <= r {
		cc.Retention = 2 * r
	}
	for _, g := range c.Groups {
		cc.Groups = append(cc.Groups, coordinator.Group{
			Name: g.Name, Role: g.Role, Min: g.Min, Max: g.Max,
			LaunchTemplate: g.LaunchTemplate, LaunchTemplateVersion: g.LaunchTemplateVersion,
			ImageID: g.ImageID, InstanceType: g.InstanceType,
			Subnets: g.Subnets, SecurityGroups: g.SecurityGroups,
			InstanceProfile: g.InstanceProfile, KeyName: g.KeyName, UserData: g.UserData,
			Tags: g.Tags,
		})
	}
	cc.Clock = a.clock
	cc.Logger = a.logger.Named("coordinator")
	cc.Prune = a.registry.Deregister
	return cc
}

// newEC2Client builds the EC2 client from the standard AWS chain with the
// config's region and endpoint. The SDK's standard retryer handles
// throttling; the coordinator adds its own jittered backoff on top.
func newEC2Client(ctx context.Context, cfg *config.Config, id bootstrap.Identity, source string) (*ec2.Client, error) {
	region := cfg.EC2.Region
	if region == "" {
		region = id.Region
	}
	if region == "" {
		return nil, fmt.Errorf("ec2.region: unknown (IMDS gave none); set ec2 { region = \"...\" }")
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("ec2: AWS configuration: %w", err)
	}
	return ec2.NewFromConfig(awsCfg, func(o *ec2.Options) {
		o.HTTPClient = bootstrap.NewAWSHTTPClient(source)
		if cfg.EC2.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.EC2.Endpoint)
		}
	}), nil
}

// startCoordinator builds the coordinator when coordinator.enabled is set.
func (a *Agent) startCoordinator(ctx context.Context, cfg *config.Config, goTask func(string, func(context.Context))) error {
	if !cfg.Coordinator.Enabled {
		return nil
	}
	ec, err := newEC2Client(ctx, cfg, a.identity, a.advertiseAddr())
	if err != nil {
		return err
	}
	store, ok := a.s3.(coordinator.ObjectStore)
	if !ok {
		return fmt.Errorf("coordinator: the S3 client cannot be used for the lease")
	}
	co, err := coordinator.New(a.coordinatorConfig(cfg), ec, store, a.cluster)
	if err != nil {
		return fmt.Errorf("coordinator: %w", err)
	}
	a.coordinator = co
	goTask("coordinator", a.coordinatorLoop)
	a.logger.Info("coordinator enabled", "groups", len(cfg.Coordinator.Groups), "dry_run", cfg.Coordinator.DryRun)
	return nil
}

// coordinatorLoop runs the coordinator once the agent is ready, and ticks it
// on every membership change so a death is judged as soon as it is seen.
// A death is judged once gossip has held it for dead_grace; no event marks
// that moment, so a timer per death ticks the coordinator then, instead of
// up to one interval later.
func (a *Agent) coordinatorLoop(ctx context.Context) {
	co := a.config().Coordinator
	var timers []clockwork.Timer
	defer func() {
		for _, t := range timers {
			t.Stop()
		}
	}()
	a.runAfterReady(ctx, "coordinator", a.coordinator.Run, func(ev membership.Event) {
		a.coordinator.Trigger()
		if ev.Type == membership.EventStatus && ev.Member.Status == membership.StatusDead {
			// Tick when its dead_grace ends, and when a batch window
			// holding it for later deaths can end.
			timers = append(timers,
				a.clock.AfterFunc(co.DeadGrace+deadGraceSlack, a.coordinator.Trigger),
				a.clock.AfterFunc(co.DeadGrace+co.BatchWindow+deadGraceSlack, a.coordinator.Trigger))
		}
	})
}

// deadGraceSlack is added to dead_grace before the timed tick, so the
// member's Since is unambiguously dead_grace old when the coordinator looks.
const deadGraceSlack = 50 * time.Millisecond
