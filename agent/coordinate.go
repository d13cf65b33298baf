package agent

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/agent/config"
	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/bootstrap/awscall"
	"github.com/farmhand/farmhand/membership"
)

// coordinatorRunner runs the coordinator (when coordinator.enabled) once
// the agent is ready, ticks it on every membership change so a death is
// seen at once, and builds it anew on reload. Stopping it cancels the
// coordinator: its EC2 calls in flight are cancelled, it makes no new one,
// and it writes its ledger and releases its lease.
type coordinatorRunner struct {
	readyRunner[*coordinator.Coordinator]
	node     *node
	cluster  *membership.Cluster
	registry *bootstrap.Registry
	store    coordinator.ObjectStore
	clock    clockwork.Clock
	// onDecision gets every decision of the coordinators it builds (set
	// before the first build).
	onDecision func(coordinator.Decision)
}

func newCoordinatorRunner(n *node, c *membership.Cluster, reg *bootstrap.Registry, store coordinator.ObjectStore,
	ready <-chan struct{}, clock clockwork.Clock, logger hclog.Logger) *coordinatorRunner {
	r := &coordinatorRunner{node: n, cluster: c, registry: reg, store: store, clock: clock}
	r.readyRunner = readyRunner[*coordinator.Coordinator]{ready: ready, logger: logger, onEvent: (*coordinator.Coordinator).Trigger}
	return r
}

// build makes the coordinator cfg asks for, with its EC2 client, or nil
// when the coordinator is not enabled. It starts nothing.
func (r *coordinatorRunner) build(ctx context.Context, cfg *config.Config) (*coordinator.Coordinator, error) {
	if !cfg.Coordinator.Enabled {
		return nil, nil
	}
	ec, err := newEC2Client(ctx, cfg, r.node.identity, r.node.advertiseAddr())
	if err != nil {
		return nil, err
	}
	cc := coordinatorConfig(cfg, r.registry.ClusterPrefix(), r.registry.Deregister, r.clock, r.logger)
	cc.OnDecision = r.onDecision
	co, err := coordinator.New(cc, ec, r.store, r.cluster)
	if err != nil {
		return nil, fmt.Errorf("coordinator: %w", err)
	}
	return co, nil
}

// start runs co (nil: none).
func (r *coordinatorRunner) start(co *coordinator.Coordinator) {
	r.readyRunner.start(r.cluster, co, co != nil)
}

// swap runs next (nil: none) in place of the running coordinator, which
// releases its lease first (waiting at most until ctx ends).
func (r *coordinatorRunner) swap(ctx context.Context, next *coordinator.Coordinator) error {
	if err := r.readyRunner.swap(ctx, next, next != nil); err != nil {
		return fmt.Errorf("coordinator: %w", err)
	}
	return nil
}

// newEC2Client builds the EC2 client from the standard AWS chain with the
// config's region and endpoint. awscall.EC2Retryer (the SDK's standard
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
		o.HTTPClient = awscall.NewHTTPClient(source)
		o.Retryer = awscall.EC2Retryer()
		if cfg.EC2.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.EC2.Endpoint)
		}
	})), nil
}
