package agent

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

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
// config's region and endpoint. coordinator.EC2Retryer (the SDK's standard
// retryer, without InsufficientInstanceCapacity) is the only retry layer.
func newEC2Client(ctx context.Context, cfg *config.Config, id bootstrap.Identity, source string) (coordinator.EC2API, error) {
	region := cfg.EC2.Region
	if region == "" {
		region = id.Region
	}
	if region == "" {
		return nil, fmt.Errorf("ec2.region: unknown (IMDS gave none); set ec2 { region = \"...\" }")
	}
	awsCfg, err := bootstrap.LoadAWSConfig(ctx, region, cfg.Identity.IMDSEndpoint)
	if err != nil {
		return nil, fmt.Errorf("ec2: AWS configuration: %w", err)
	}
	return coordinator.EC2Calls(ec2.NewFromConfig(awsCfg, func(o *ec2.Options) {
		o.HTTPClient = bootstrap.NewAWSHTTPClient(source)
		o.Retryer = coordinator.EC2Retryer()
		if cfg.EC2.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.EC2.Endpoint)
		}
	})), nil
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
	// The registry's S3 client also holds the lease and the ledger: every
	// bootstrap.S3API is a coordinator.ObjectStore.
	co, err := coordinator.New(a.coordinatorConfig(cfg), ec, a.s3, a.cluster)
	if err != nil {
		return fmt.Errorf("coordinator: %w", err)
	}
	a.coordinator = co
	goTask("coordinator", a.coordinatorLoop)
	a.logger.Info("coordinator enabled", "groups", len(cfg.Coordinator.Groups), "dry_run", cfg.Coordinator.DryRun)
	return nil
}

// coordinatorLoop runs the coordinator once the agent is ready, and ticks it
// on every membership change so a death is seen at once (the coordinator
// wakes itself when the death's dead_grace ends).
func (a *Agent) coordinatorLoop(ctx context.Context) {
	a.runAfterReady(ctx, "coordinator", a.coordinator.Run, func(membership.Event) { a.coordinator.Trigger() })
}
