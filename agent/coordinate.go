package agent

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
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
	node     *node
	cluster  *membership.Cluster
	registry *bootstrap.Registry
	store    coordinator.ObjectStore
	ready    <-chan struct{}
	clock    clockwork.Clock
	logger   hclog.Logger

	mu      sync.Mutex
	co      *coordinator.Coordinator // nil unless enabled
	task    *task
	stopped bool
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
	co, err := coordinator.New(cc, ec, r.store, r.cluster)
	if err != nil {
		return nil, fmt.Errorf("coordinator: %w", err)
	}
	return co, nil
}

// start runs co (nil: nothing to run).
func (r *coordinatorRunner) start(co *coordinator.Coordinator) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runLocked(co)
}

func (r *coordinatorRunner) runLocked(co *coordinator.Coordinator) {
	r.co = co
	if co == nil {
		return
	}
	c, ready, logger := r.cluster, r.ready, r.logger
	r.task = goTask(func(ctx context.Context) {
		runAfterReady(ctx, ready, c, logger, co.Run, func(membership.Event) { co.Trigger() })
	})
}

// swap stops the running coordinator (waiting at most until ctx ends: it
// releases its lease) and runs next instead. After stop it does nothing.
func (r *coordinatorRunner) swap(ctx context.Context, next *coordinator.Coordinator) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return fmt.Errorf("coordinator: the agent is stopping")
	}
	if err := r.task.stop(ctx); err != nil {
		return fmt.Errorf("coordinator: the running coordinator did not stop: %w", err)
	}
	r.task = nil
	r.runLocked(next)
	return nil
}

// stop ends the coordinator for good, waiting at most until ctx ends.
func (r *coordinatorRunner) stop(ctx context.Context) error {
	r.mu.Lock()
	r.stopped = true
	t := r.task
	r.mu.Unlock()
	return t.stop(ctx)
}

// current is the running coordinator, or nil.
func (r *coordinatorRunner) current() *coordinator.Coordinator {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.co
}

// newEC2Client builds the EC2 client from the standard AWS chain with the
// config's region and endpoint. The SDK's standard retryer handles
// throttling (but not InsufficientInstanceCapacity, see
// awscall.EC2Retryer); the coordinator adds its own jittered backoff on
// top.
func newEC2Client(ctx context.Context, cfg *config.Config, id bootstrap.Identity, source string) (coordinator.EC2API, error) {
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
	return coordinator.EC2Calls(ec2.NewFromConfig(awsCfg, func(o *ec2.Options) {
		o.HTTPClient = awscall.NewHTTPClient(source)
		o.Retryer = awscall.EC2Retryer()
		if cfg.EC2.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.EC2.Endpoint)
		}
	})), nil
}
