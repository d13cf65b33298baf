package agent

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-hclog"

	"github.com/farmhand/farmhand/agent/config"
	"github.com/farmhand/farmhand/agent/localapi"
)

// apiServer serves the local API on the unix socket.
type apiServer struct {
	stopAPI context.CancelFunc
	done    chan struct{}
}

// startAPI opens the socket (with localapi's stale-file handling) and serves
// backend on it until stop.
func startAPI(cfg *config.Config, backend localapi.Backend, logger hclog.Logger) (*apiServer, error) {
	ln, err := localapi.Listen(cfg.Socket, cfg.SocketMode, cfg.SocketGroup)
	if err != nil {
		return nil, fmt.Errorf("socket %s: %w", cfg.Socket, err)
	}
	srv := localapi.NewServer(backend, logger)
	ctx, stopAPI := context.WithCancel(context.Background())
	s := &apiServer{stopAPI: stopAPI, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if err := srv.Run(ctx, ln); err != nil {
			logger.Error("local API stopped", "error", err)
		}
	}()
	logger.Info("local API listening", "socket", cfg.Socket)
	return s, nil
}

// stop shuts the server down gracefully (requests in flight may finish),
// waiting at most until ctx ends; safe on nil.
func (s *apiServer) stop(ctx context.Context) error {
	if s == nil {
		return nil
	}
	s.stopAPI()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("requests still running: %w", ctx.Err())
	}
}
