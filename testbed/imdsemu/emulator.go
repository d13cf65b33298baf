package imdsemu

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"
)

// Emulator is the metadata service of one instance (an http.Handler).
// Create it with New; serve it with Start or mount it on any http.Server;
// always Close it.
type Emulator struct {
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

	srv       *http.Server
	ln        net.Listener
	serveDone chan struct{}
	closed    bool
}

// New returns an emulator for cfg.Identity. It serves nothing until Start
// (or until it is mounted as a handler).
func New(cfg Config) (*Emulator, error) {
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
	return &Emulator{
		cfg:     cfg,
		clock:   cfg.Clock,
		log:     cfg.Logger,
		pending: cfg.Clock.Now().UTC().Truncate(time.Second),
		tokens:  map[string]time.Time{},
	}, nil
}

// SetDown makes the service unreachable (true): every connection is closed
// without an answer, as when the metadata service does not respond.
func (e *Emulator) SetDown(down bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.down = down
}

// SetV1Only turns the service into IMDSv1 (true): PUT /latest/api/token
// answers 404 and GETs need no token. The SDK then falls back to IMDSv1
// unless its EnableFallback is off.
func (e *Emulator) SetV1Only(v1 bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.v1Only = v1
}

// SetDelay delays every answer by d (on the configured clock); 0 answers at
// once. A client that gives up first gets nothing.
func (e *Emulator) SetDelay(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.delay = d
}

// Requests returns how many requests arrived, including rejected ones.
func (e *Emulator) Requests() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.requests
}

// Start serves the emulator on addr ("" means 127.0.0.1:0) until Close.
func (e *Emulator) Start(addr string) error {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("imdsemu: listen on %s: %w (pick a free address or pass \"\")", addr, err)
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
		return errors.New("imdsemu: Start called twice or after Close")
	}
	e.srv, e.ln, e.serveDone = srv, ln, done
	e.mu.Unlock()
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.log.Error("imds emulator stopped serving", "addr", ln.Addr().String(), "error", err)
		}
	}()
	return nil
}

// URL is the endpoint to give clients (imds.Options.Endpoint), or "" before
// Start.
func (e *Emulator) URL() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ln == nil {
		return ""
	}
	return "http://" + e.ln.Addr().String()
}

// Close stops serving; requests in flight are cut off.
func (e *Emulator) Close() error {
	e.mu.Lock()
	e.closed = true
	srv, done := e.srv, e.serveDone
	e.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Close()
	<-done
	return err
}

// newToken returns a random token of the length IMDS uses.
func newToken() string {
	var b [42]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("imdsemu: crypto/rand failed: " + err.Error())
	}
	return base64.StdEncoding.EncodeToString(b[:])
}
