package agent

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/agent/config"
	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/bootstrap/awscall"
)

// newRegistry builds the S3 client (unless api is given) and the registry
// over it. It makes no S3 request. The client also serves the coordinator's
// lease and ledger: every bootstrap.S3API is a coordinator.ObjectStore.
func newRegistry(ctx context.Context, cfg *config.Config, n *node, api bootstrap.S3API, clock clockwork.Clock, logger hclog.Logger) (*bootstrap.Registry, bootstrap.S3API, error) {
	if api == nil {
		region := cfg.Registry.Region
		if region == "" {
			region = n.identity.Region
		}
		c, err := bootstrap.NewS3Client(ctx, bootstrap.S3Config{
			Region:    region,
			Endpoint:  cfg.Registry.Endpoint,
			PathStyle: cfg.Registry.PathStyle,
			// Credentials from IMDSv2 at the configured endpoint.
			IMDSEndpoint: cfg.Identity.IMDSEndpoint,
			// Requests leave from the gossip address.
			HTTPClient: awscall.NewHTTPClient(n.advertiseAddr()),
		})
		if err != nil {
			return nil, nil, fmt.Errorf("registry: %w", err)
		}
		api = c
	}
	reg, err := bootstrap.NewRegistry(api, registryConfig(cfg, clock, logger))
	if err != nil {
		return nil, nil, fmt.Errorf("registry: %w", err)
	}
	return reg, api, nil
}
