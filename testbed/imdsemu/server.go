package imdsemu

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/farmhand/farmhand/bootstrap"
	"github.com/hashicorp/go-hclog"

	"github.com/farmhand/farmhand/testbed/emuhttp"
	"github.com/jonboulle/clockwork"
)

// Server is the metadata service of one instance (an http.Handler).
// Create it with New; serve it with Listen or mount it on any http.Server;
// always Close it.
type Server struct {
	cfg     Config
	clock   clockwork.Clock
	log     hclog.Logger
	pending time.Time

	mu       sync.Mutex
	tokens   map[string]time.Time // token -> expiry
	down     bool
	v1Only   bool
	delay    time.Duration
	requests int

	http emuhttp.Listener
}

// New returns an emulator for cfg.Identity. It serves nothing until Listen
// (or until it is mounted as a handler).
func New(cfg Config) (*Server, error) {
	id := cfg.Identity
	switch {
	case id.InstanceID == "":
		return nil, errors.New("imdsemu: Config.Identity.InstanceID is empty: set the instance id to serve")
	case net.ParseIP(id.PrivateIP) == nil:
		return nil, fmt.Errorf("imdsemu: Config.Identity.PrivateIP %q is not an IP address", id.PrivateIP)
	case len(id.AvailabilityZone) < 2:
		return nil, fmt.Errorf("imdsemu: Config.Identity.AvailabilityZone %q is not a zone like \"us-east-1a\"", id.AvailabilityZone)
	}
	if cfg.Identity.Region == "" {
		cfg.Identity.Region = id.AvailabilityZone[:len(id.AvailabilityZone)-1]
	}
	if cfg.AccountID == "" {
		cfg.AccountID = DefaultConfig().AccountID
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	return &Server{
		cfg:     cfg,
		clock:   cfg.Clock,
		log:     cfg.Logger,
		pending: cfg.Clock.Now().UTC().Truncate(time.Second),
		tokens:  map[string]time.Time{},
	}, nil
}

// Start serves the identity id on addr ("" means 127.0.0.1:0), with the
// rest of DefaultConfig: New followed by Listen.
func Start(addr string, id bootstrap.Identity) (*Server, error) {
	cfg := DefaultConfig()
	cfg.Identity = id
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.Listen(addr); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// SetDown makes the service unreachable (true): every connection is closed
// without an answer, as when the metadata service does not respond.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// SetV1Only turns the service into IMDSv1 (true): PUT /latest/api/token
// answers 404 and GETs need no token. The SDK then falls back to IMDSv1
// unless its EnableFallback is off.
func (s *Server) SetV1Only(v1 bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.v1Only = v1
}

// SetDelay delays every answer by d (on the configured clock); 0 answers at
// once. A client that gives up first gets nothing.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Requests returns how many requests arrived, including rejected ones.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Listen serves on addr ("" means 127.0.0.1:0) until Close.
func (s *Server) Listen(addr string) error { return s.http.Listen("imdsemu", addr, s, s.log) }

// URL is the endpoint to give clients (imds.Options.Endpoint), or "" before
// Listen.
func (s *Server) URL() string { return s.http.URL() }

// Closed reports whether Close was called.
func (s *Server) Closed() bool { return s.http.Closed() }

// Close stops serving; requests in flight are cut off.
func (s *Server) Close() error { return s.http.Close() }

// newToken returns a random token of the length IMDS uses.
func newToken() string {
	var b [42]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("imdsemu: crypto/rand failed: " + err.Error())
	}
	return base64.StdEncoding.EncodeToString(b[:])
}
