package localapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"
)

// Config configures a Server.
type Config struct {
	// Backend answers the API calls. Required.
	Backend Backend
	// Logger receives request errors and shutdown warnings.
	Logger hclog.Logger
	// ShutdownTimeout bounds the graceful shutdown once Run's context ends;
	// requests still running after it have their contexts cancelled.
	ShutdownTimeout time.Duration
	// ReadHeaderTimeout bounds how long a client may take to send its request headers.
	ReadHeaderTimeout time.Duration
	// Clock times the wait of blocking queries. Nil is the real clock.
	Clock clockwork.Clock
}

// DefaultConfig returns a Config with production timeouts and a null logger;
// the caller sets Backend.
func DefaultConfig() Config {
	return Config{
		Logger:            hclog.NewNullLogger(),
		ShutdownTimeout:   5 * time.Second,
		ReadHeaderTimeout: 5 * time.Second,
	}
}

// Server serves the local API. One Server may Run on several listeners.
type Server struct {
	cfg     Config
	backend Backend
	log     hclog.Logger
	// index maps a path to its handlers by method, built from routes.
	index map[string]map[string]handlerFunc
}

// New checks cfg and returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Backend == nil {
		return nil, errors.New("localapi: Config.Backend is required")
	}
	if cfg.ShutdownTimeout <= 0 {
		return nil, fmt.Errorf("localapi: Config.ShutdownTimeout must be positive, got %s", cfg.ShutdownTimeout)
	}
	if cfg.ReadHeaderTimeout <= 0 {
		return nil, fmt.Errorf("localapi: Config.ReadHeaderTimeout must be positive, got %s", cfg.ReadHeaderTimeout)
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	return &Server{cfg: cfg, backend: cfg.Backend, log: cfg.Logger, index: indexRoutes(routes)}, nil
}

// NewServer returns a Server for backend with DefaultConfig timeouts and
// logger (nil for none). It panics if backend is nil, a programming error.
func NewServer(backend Backend, logger hclog.Logger) *Server {
	cfg := DefaultConfig()
	cfg.Backend = backend
	if logger != nil {
		cfg.Logger = logger
	}
	s, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return s
}

// Run serves ln until ctx ends, then shuts down gracefully: it stops
// accepting, lets in-flight requests finish for up to ShutdownTimeout,
// cancels the rest, and returns nil. It closes ln. Any other failure to
// serve is returned.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	if ln == nil {
		return errors.New("localapi: Run needs a listener")
	}
	// Requests get a context that survives ctx, so a graceful shutdown lets
	// them finish; hardStop cancels them once the shutdown times out.
	base, hardStop := context.WithCancel(context.WithoutCancel(ctx))
	defer hardStop()
	// Blocking queries answer at once when the shutdown begins (see await).
	base = context.WithValue(base, shutdownKey{}, ctx)
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ErrorLog:          s.log.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		hardStop()
		_ = srv.Close()
		return fmt.Errorf("localapi: serving on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}

	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		s.log.Warn("local API requests still running after the shutdown timeout; cancelling them",
			"timeout", s.cfg.ShutdownTimeout, "error", err)
		hardStop()
		_ = srv.Close()
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("localapi: serving on %s: %w", ln.Addr(), err)
	}
	return nil
}
