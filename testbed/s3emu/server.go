package s3emu

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/farmhand/farmhand/testbed/emuhttp"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Server is an in-memory S3 endpoint (an http.Handler). Conditional writes
// (If-None-Match: *, If-Match: <etag>) come from gofakes3 itself, which
// checks them atomically with the write and answers 412
// PreconditionFailed. Create it with New; serve it with Listen or mount it on
// any http.Server; always Close it.
type Server struct {
	cfg     Config
	log     hclog.Logger
	backend *s3mem.Backend
	s3      http.Handler

	mu        sync.Mutex
	fault     s3Fault       // answered to every request while status != 0
	delay     time.Duration // added before every answer
	listing   listingFault  // how ListObjectsV2 pages are cut
	total     Counts
	byClient  map[string]*Counts
	requestID uint64

	http emuhttp.Listener
}

// New returns a server holding the empty bucket cfg.Bucket.
func New(cfg Config) (*Server, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("s3emu: Config.Bucket is empty: name the bucket to create (DefaultConfig uses \"farmhand\")")
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if err := gofakes3.ValidateBucketName(cfg.Bucket); err != nil {
		return nil, fmt.Errorf("s3emu: Config.Bucket %q: %w", cfg.Bucket, err)
	}
	backend := s3mem.New()
	if err := backend.CreateBucket(cfg.Bucket); err != nil {
		return nil, fmt.Errorf("s3emu: creating bucket %q: %w", cfg.Bucket, err)
	}
	fake := gofakes3.New(backend, gofakes3.WithLogger(logAdapter{cfg.Logger}))
	return &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		backend:  backend,
		s3:       fake.Server(),
		byClient: map[string]*Counts{},
	}, nil
}

// Start is New followed by Listen: a server for cfg on addr ("" means
// 127.0.0.1:0).
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

// Bucket is the bucket New created.
func (s *Server) Bucket() string { return s.cfg.Bucket }

// Backend is the storage behind the server, for seeding or inspecting
// objects without going through HTTP (and without being counted).
func (s *Server) Backend() gofakes3.Backend { return s.backend }

// ServeHTTP counts the request, then answers it: after the injected delay,
// with the injected error if one is set, otherwise through gofakes3 (with
// listings cut as TruncateListings and EndListingsEarly say).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	kind := classify(r)
	client, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		client = r.RemoteAddr
	}
	s.mu.Lock()
	s.total.add(kind)
	c := s.byClient[client]
	if c == nil {
		c = &Counts{}
		s.byClient[client] = c
	}
	c.add(kind)
	fault, delay, listing := s.fault, s.delay, s.listing
	s.requestID++
	id := s.requestID
	s.mu.Unlock()

	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done(): // the client gave up or the server is closing
			t.Stop()
			return
		}
	}
	if fault.status != 0 {
		writeError(w, r, id, fault)
		return
	}
	if kind == KindList && listing.active() && r.URL.Query().Get("list-type") == "2" {
		s.serveListing(w, r, listing)
		return
	}
	s.s3.ServeHTTP(w, r)
}

// Counts returns the requests received so far by kind, including those
// answered 503 while down.
func (s *Server) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// CountsFrom returns the requests received from one client IP (the source
// address of its connections).
func (s *Server) CountsFrom(ip string) Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.byClient[ip]; c != nil {
		return *c
	}
	return Counts{}
}

// Clients returns the counts of every client IP seen.
func (s *Server) Clients() map[string]Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]Counts, len(s.byClient))
	for ip, c := range s.byClient {
		out[ip] = *c
	}
	return out
}

// ResetCounts zeroes every counter.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total = Counts{}
	s.byClient = map[string]*Counts{}
}

// Listen serves on addr ("" means 127.0.0.1:0) until Close.
func (s *Server) Listen(addr string) error { return s.http.Listen("s3emu", addr, s, s.log) }

// URL is the endpoint to give clients (BaseEndpoint with UsePathStyle), or
// "" before Listen.
func (s *Server) URL() string { return s.http.URL() }

// Close stops serving; requests in flight are cut off. The data stays
// readable through Backend.
func (s *Server) Close() error { return s.http.Close() }
