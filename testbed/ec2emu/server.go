package ec2emu

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/testbed/emuhttp"
)

// Server is an EC2 Query API endpoint (an http.Handler) holding the
// instances it has launched. Create it with New; serve it with Listen or
// mount it on any http.Server; always Close it.
type Server struct {
	cfg   Config
	log   hclog.Logger
	clock clockwork.Clock

	// ctx is passed to hooks and ends delayed launches; Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc
	// wg counts launch and shutdown goroutines.
	wg sync.WaitGroup

	mu         sync.Mutex
	closed     bool
	instances  map[string]*instance
	seq        uint64
	tokens     map[string]idempotencyRecord
	throttle   bool
	faults     faults
	bootDelay  Delay
	nextSubnet int
	// pools are the subnets' address pools, by subnet id.
	pools map[string]*subnetPool
	calls map[string]int
	errs  map[string]int

	// http serves the API between Listen and Close (see SetDown).
	http emuhttp.Listener
}

// idempotencyRecord remembers one ClientToken.
type idempotencyRecord struct {
	fingerprint   string
	reservationID string
	instanceIDs   []string
}

// New returns an emulator for cfg. It serves nothing until Listen (or until
// it is mounted as a handler).
func New(cfg Config) (*Server, error) {
	if cfg.Region == "" {
		return nil, errors.New("ec2emu: Config.Region is empty: set it, e.g. to \"us-east-1\" (DefaultConfig does)")
	}
	if len(cfg.Subnets) == 0 {
		return nil, errors.New("ec2emu: Config.Subnets is empty: give at least one subnet with its zone (DefaultConfig does)")
	}
	pools, err := subnetPools(cfg.Subnets)
	if err != nil {
		return nil, err
	}
	switch cfg.AddressPolicy {
	case "":
		cfg.AddressPolicy = AddressLowest
	case AddressLowest, AddressRandom:
	default:
		return nil, fmt.Errorf("ec2emu: Config.AddressPolicy %q: want %q or %q", cfg.AddressPolicy, AddressLowest, AddressRandom)
	}
	if err := cfg.BootDelay.validate(cfg.BootDelay.String()); err != nil {
		return nil, fmt.Errorf("ec2emu: Config.BootDelay: %w", err)
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
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		cfg:       cfg,
		log:       cfg.Logger,
		clock:     cfg.Clock,
		ctx:       ctx,
		cancel:    cancel,
		instances: map[string]*instance{},
		tokens:    map[string]idempotencyRecord{},
		bootDelay: cfg.BootDelay,
		pools:     pools,
		calls:     map[string]int{},
		errs:      map[string]int{},
	}, nil
}

// subnetPools checks the subnets and makes their address pools.
func subnetPools(subnets []Subnet) (map[string]*subnetPool, error) {
	pools := make(map[string]*subnetPool, len(subnets))
	for i, sn := range subnets {
		if sn.ID == "" || sn.AvailabilityZone == "" || sn.CIDR == "" {
			return nil, fmt.Errorf("ec2emu: Config.Subnets[%d] needs ID, AvailabilityZone and CIDR", i)
		}
		if pools[sn.ID] != nil {
			return nil, fmt.Errorf("ec2emu: Config.Subnets[%d]: subnet id %s given twice", i, sn.ID)
		}
		pool, err := newSubnetPool(sn.CIDR)
		if err != nil {
			return nil, fmt.Errorf("ec2emu: Config.Subnets[%d] (%s): %w", i, sn.ID, err)
		}
		for id, other := range pools {
			if other.prefix.Overlaps(pool.prefix) {
				return nil, fmt.Errorf("ec2emu: Config.Subnets[%d] (%s): CIDR %s overlaps subnet %s (%s)", i, sn.ID, sn.CIDR, id, other.prefix)
			}
		}
		pools[sn.ID] = pool
	}
	return pools, nil
}

// Start is New followed by Listen: an emulator for cfg serving on addr
// ("" means 127.0.0.1:0).
func Start(addr string, cfg Config) (*Server, error) {
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

// handler serves one action; it returns the response body or an error.
type handler func(s *Server, requestID string, p params, as principal) (any, *apiError)

// actions are the EC2 actions the emulator implements.
var actions = map[string]handler{
	"RunInstances":           (*Server).runInstances,
	"DescribeInstances":      (*Server).describeInstances,
	"DescribeInstanceStatus": (*Server).describeInstanceStatus,
	"TerminateInstances":     (*Server).terminateInstances,
	"StopInstances":          (*Server).stopInstances,
	"StartInstances":         (*Server).startInstances,
	"RebootInstances":        (*Server).rebootInstances,
	"CreateTags":             (*Server).createTags,
}

// ServeHTTP answers one EC2 Query API request (POST form or GET query).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := newRequestID()
	if err := r.ParseForm(); err != nil {
		s.fail(w, requestID, &apiError{http.StatusBadRequest, "MalformedQueryString", err.Error()})
		return
	}
	p := params(r.Form)
	action := p.str("Action")
	s.mu.Lock()
	s.calls[action]++
	throttled, internal := s.throttle, s.faults.internalError
	s.mu.Unlock()

	switch {
	case !signed(r):
		s.fail(w, requestID, errAuthFailure)
		return
	case throttled:
		s.fail(w, requestID, errThrottled)
		return
	case internal:
		s.fail(w, requestID, errInternal)
		return
	case action == "":
		s.fail(w, requestID, errMissingParameter("Action"))
		return
	}
	h, ok := actions[action]
	if !ok {
		s.fail(w, requestID, errInvalidAction(action))
		return
	}
	if p.str("Version") == "" {
		s.fail(w, requestID, errMissingParameter("Version"))
		return
	}
	s.reap()
	body, aerr := h(s, requestID, p, principalOf(r))
	if aerr != nil {
		s.fail(w, requestID, aerr)
		return
	}
	writeXML(w, http.StatusOK, body)
}

// signed reports whether r carries a SigV4 signature (header or presigned
// query). The signature itself is not checked: any credentials work.
func signed(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") ||
		r.URL.Query().Get("X-Amz-Algorithm") != ""
}

// fail counts and sends an error response.
func (s *Server) fail(w http.ResponseWriter, requestID string, err *apiError) {
	s.mu.Lock()
	s.errs[err.code]++
	s.mu.Unlock()
	writeError(w, requestID, err)
}

// dryRun returns DryRunOperation when the request set DryRun=true; call it
// after validation, as EC2 does.
func dryRun(p params) *apiError {
	dry, err := p.boolean("DryRun")
	if err != nil {
		return err
	}
	if dry {
		return errDryRun
	}
	return nil
}

// goLocked runs f in a goroutine owned by the emulator and reports true,
// unless the emulator is closed. s.mu must be held.
func (s *Server) goLocked(f func()) bool {
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// wait blocks for d on the emulator's clock; false if the emulator closed
// first.
func (s *Server) wait(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	select {
	case <-s.clock.After(d):
		return true
	case <-s.ctx.Done():
		return false
	}
}

// afterLocked runs f with s.mu held once d has passed, in a goroutine
// owned by s, unless the emulator closes first. s.mu must be held.
func (s *Server) afterLocked(d time.Duration, f func()) {
	s.goLocked(func() {
		if !s.wait(d) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		f()
	})
}

// Listen serves on addr ("" means 127.0.0.1:0) until Close.
func (s *Server) Listen(addr string) error {
	if err := s.http.Listen("ec2emu", addr, s, s.log); err != nil {
		return err
	}
	s.log.Info("ec2 emulator listening", "url", s.http.URL())
	return nil
}

// URL is the endpoint to give clients (BaseEndpoint, --endpoint-url), or ""
// before Listen.
func (s *Server) URL() string { return s.http.URL() }

// Close stops serving, cancels the hooks' context and waits for every
// launch and shutdown goroutine. Instances stay as they are.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	err := s.http.Close()
	s.cancel()
	s.wg.Wait()
	return err
}
