package agent

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-hclog"

	"github.com/farmhand/farmhand/agent/config"
	"github.com/farmhand/farmhand/agent/localapi"
)

// startAPI opens the socket (with localapi's stale-file handling) and serves
// backend on it until the returned task is stopped: then the server shuts
// down gracefully (requests in flight may finish).
func startAPI(cfg *config.Config, backend localapi.Backend, logger hclog.Logger) (*task, error) {
	ln, err := localapi.Listen(cfg.Socket, cfg.SocketMode, cfg.SocketGroup)
	if err != nil {
		return nil, fmt.Errorf("socket %s: %w", cfg.Socket, err)
	}
	srv := localapi.NewServer(backend, logger)
	logger.Info("local API listening", "socket", cfg.Socket)
	return goTask(func(ctx context.Context) {
		if err := srv.Run(ctx, ln); err != nil {
			logger.Error("local API stopped", "error", err)
		}
	}), nil
}
