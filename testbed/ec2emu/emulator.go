package ec2emu

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"
)

// Emulator is an EC2 Query API endpoint (an http.Handler) holding the
// instances it has launched. Create it with New; serve it with Start or
// mount it on any http.Server; always Close it.
type Emulator struct {
	cfg   Config
	log   hclog.Logger
	clock clockwork.Clock

	// ctx is passed to hooks and ends delayed launches; Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc
	// wg counts launch and shutdown goroutines.
	wg sync.WaitGroup

	// runMu serializes RunInstances so that the idempotency check, the
	// AllocateIP hook and the creation are one step, without holding mu
	// across the hook.
	runMu sync.Mutex

	mu          sync.Mutex
	closed      bool
	instances   map[string]*instance
	seq         uint64
	tokens      map[string]idempotencyRecord
	throttle    bool
	launchDelay time.Duration
	nextSubnet  int
	nextIP      int
	calls       map[string]int
	errs        map[string]int

	srv       *http.Server
	ln        net.Listener
	serveDone chan struct{}
}

// idempotencyRecord remembers one ClientToken.
type idempotencyRecord struct {
	fingerprint   string
	reservationID string
	instanceIDs   []string
}

// New returns an emulator for cfg. It serves nothing until Start (or until
// it is mounted as a handler).
func New(cfg Config) (*Emulator, error) {
	if cfg.Region == "" {
		return nil, errors.New("ec2emu: Config.Region is empty: set it, e.g. to \"us-east-1\" (DefaultConfig does)")
	}
	if len(cfg.Subnets) == 0 {
		return nil, errors.New("ec2emu: Config.Subnets is empty: give at least one subnet with its zone (DefaultConfig does)")
	}
	for i, s := range cfg.Subnets {
		if s.ID == "" || s.AvailabilityZone == "" {
			return nil, fmt.Errorf("ec2emu: Config.Subnets[%d] needs both ID and AvailabilityZone", i)
		}
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
	return &Emulator{
		cfg:         cfg,
		log:         cfg.Logger,
		clock:       cfg.Clock,
		ctx:         ctx,
		cancel:      cancel,
		instances:   map[string]*instance{},
		tokens:      map[string]idempotencyRecord{},
		launchDelay: cfg.LaunchDelay,
		calls:       map[string]int{},
		errs:        map[string]int{},
	}, nil
}

// handler serves one action; it returns the response body or an error.
type handler func(e *Emulator, requestID string, p params) (any, *apiError)

// actions are the EC2 actions the emulator implements.
var actions = map[string]handler{
	"RunInstances":           (*Emulator).runInstances,
	"DescribeInstances":      (*Emulator).describeInstances,
	"DescribeInstanceStatus": (*Emulator).describeInstanceStatus,
	"TerminateInstances":     (*Emulator).terminateInstances,
	"StopInstances":          (*Emulator).stopInstances,
	"CreateTags":             (*Emulator).createTags,
}

// ServeHTTP answers one EC2 Query API request (POST form or GET query).
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := newRequestID()
	if err := r.ParseForm(); err != nil {
		e.fail(w, requestID, &apiError{http.StatusBadRequest, "MalformedQueryString", err.Error()})
		return
	}
	p := params(r.Form)
	action := p.str("Action")
	e.mu.Lock()
	e.calls[action]++
	throttled := e.throttle
	e.mu.Unlock()

	switch {
	case !signed(r):
		e.fail(w, requestID, errAuthFailure)
		return
	case throttled:
		e.fail(w, requestID, errThrottled)
		return
	case action == "":
		e.fail(w, requestID, errMissingParameter("Action"))
		return
	}
	h, ok := actions[action]
	if !ok {
		e.fail(w, requestID, errInvalidAction(action))
		return
	}
	if p.str("Version") == "" {
		e.fail(w, requestID, errMissingParameter("Version"))
		return
	}
	e.reap()
	body, aerr := h(e, requestID, p)
	if aerr != nil {
		e.fail(w, requestID, aerr)
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
func (e *Emulator) fail(w http.ResponseWriter, requestID string, err *apiError) {
	e.mu.Lock()
	e.errs[err.code]++
	e.mu.Unlock()
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

// goLocked runs f in a goroutine owned by the emulator, unless it is
// closed. e.mu must be held.
func (e *Emulator) goLocked(f func()) {
	if e.closed {
		return
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		f()
	}()
}

// Start serves the emulator on addr ("" means 127.0.0.1:0) until Close.
func (e *Emulator) Start(addr string) error {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("ec2emu: listen on %s: %w (pick a free address or pass \"\")", addr, err)
	}
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          e.log.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	done := make(chan struct{})
	e.mu.Lock()
	if e.srv != nil || e.closed {
		e.mu.Unlock()
		ln.Close()
		return errors.New("ec2emu: Start called twice or after Close")
	}
	e.srv, e.ln, e.serveDone = srv, ln, done
	e.mu.Unlock()
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.log.Error("ec2 emulator stopped serving", "addr", ln.Addr().String(), "error", err)
		}
	}()
	e.log.Info("ec2 emulator listening", "url", "http://"+ln.Addr().String())
	return nil
}

// URL is the endpoint to give clients (BaseEndpoint, --endpoint-url), or ""
// before Start.
func (e *Emulator) URL() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ln == nil {
		return ""
	}
	return "http://" + e.ln.Addr().String()
}

// Close stops serving, cancels the hooks' context and waits for every
// launch and shutdown goroutine. Instances stay as they are.
func (e *Emulator) Close() error {
	e.mu.Lock()
	e.closed = true
	srv, done := e.srv, e.serveDone
	e.mu.Unlock()
	var err error
	if srv != nil {
		err = srv.Close()
		<-done
	}
	e.cancel()
	e.wg.Wait()
	return err
}
