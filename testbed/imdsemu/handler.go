package imdsemu

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names of IMDSv2.
const (
	tokenHeader    = "X-aws-ec2-metadata-token"
	tokenTTLHeader = "X-aws-ec2-metadata-token-ttl-seconds"
	maxTokenTTL    = 21600
)

// ServeHTTP answers one metadata request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	down, v1Only, delay := s.down, s.v1Only, s.delay
	s.mu.Unlock()

	if down {
		drop(w)
		return
	}
	if delay > 0 {
		select {
		case <-s.clock.After(delay):
		case <-r.Context().Done():
			return
		}
	}

	if r.URL.Path == "/latest/api/token" {
		if r.Method != http.MethodPut {
			plain(w, http.StatusMethodNotAllowed, "405 - Method Not Allowed")
			return
		}
		if v1Only {
			plain(w, http.StatusNotFound, "404 - Not Found")
			return
		}
		s.issueToken(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		plain(w, http.StatusMethodNotAllowed, "405 - Method Not Allowed")
		return
	}
	if !v1Only && !s.validToken(r.Header.Get(tokenHeader)) {
		s.log.Debug("metadata request without a valid token", "path", r.URL.Path)
		plain(w, http.StatusUnauthorized, "401 - Unauthorized")
		return
	}
	body, ok := s.lookup(r.URL.Path)
	if !ok {
		plain(w, http.StatusNotFound, "404 - Not Found")
		return
	}
	plain(w, http.StatusOK, body)
}

// issueToken answers PUT /latest/api/token.
func (s *Server) issueToken(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Forwarded-For") != "" {
		plain(w, http.StatusForbidden, "403 - Forbidden") // IMDS refuses proxied token requests
		return
	}
	ttl, err := strconv.Atoi(r.Header.Get(tokenTTLHeader))
	if err != nil || ttl < 1 || ttl > maxTokenTTL {
		plain(w, http.StatusBadRequest, "400 - Bad Request")
		return
	}
	tok := newToken()
	now := s.clock.Now()
	s.mu.Lock()
	for t, exp := range s.tokens {
		if !now.Before(exp) {
			delete(s.tokens, t)
		}
	}
	s.tokens[tok] = now.Add(time.Duration(ttl) * time.Second)
	s.mu.Unlock()
	w.Header().Set(tokenTTLHeader, strconv.Itoa(ttl))
	plain(w, http.StatusOK, tok)
}

// validToken reports whether tok was issued and has not expired.
func (s *Server) validToken(tok string) bool {
	if tok == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.tokens[tok]
	return ok && s.clock.Now().Before(exp)
}

// lookup returns the metadata at path.
func (s *Server) lookup(path string) (string, bool) {
	id := s.cfg.Identity
	path = strings.TrimSuffix(path, "/")
	if strings.HasPrefix(path, "/latest/meta-data/") {
		if body, ok := lookupEvents(s.events(), path); ok {
			return body, true
		}
	}
	switch path {
	case "/latest/meta-data":
		ev := s.events()
		list := "ami-id\nevents/\nhostname\ninstance-id\ninstance-life-cycle\ninstance-type\nlocal-hostname\nlocal-ipv4\nplacement/"
		if ev.TargetLifecycleState != "" {
			list = "autoscaling/\n" + list
		}
		if ev.SpotAction != "" {
			list += "\nspot/"
		}
		return list, true
	case "/latest/meta-data/ami-id":
		return id.AMI, true
	case "/latest/meta-data/instance-id":
		return id.InstanceID, true
	case "/latest/meta-data/instance-type":
		return id.InstanceType, true
	case "/latest/meta-data/local-ipv4":
		return id.PrivateIP, true
	case "/latest/meta-data/hostname", "/latest/meta-data/local-hostname":
		return s.hostname(), true
	case "/latest/meta-data/placement":
		return "availability-zone\nregion", true
	case "/latest/meta-data/placement/availability-zone":
		return id.AvailabilityZone, true
	case "/latest/meta-data/placement/region":
		return id.Region, true
	case "/latest/dynamic":
		return "instance-identity/", true
	case "/latest/dynamic/instance-identity":
		return "document", true
	case "/latest/dynamic/instance-identity/document":
		return s.document(), true
	}
	return "", false
}

// hostname is EC2's ip-name form of the private address.
func (s *Server) hostname() string {
	host := "ip-" + strings.ReplaceAll(s.cfg.Identity.PrivateIP, ".", "-")
	if s.cfg.Identity.Region == "us-east-1" {
		return host + ".ec2.internal"
	}
	return host + "." + s.cfg.Identity.Region + ".compute.internal"
}

// identityDocument is /latest/dynamic/instance-identity/document.
type identityDocument struct {
	AccountID               string   `json:"accountId"`
	Architecture            string   `json:"architecture"`
	AvailabilityZone        string   `json:"availabilityZone"`
	BillingProducts         []string `json:"billingProducts"`
	DevpayProductCodes      []string `json:"devpayProductCodes"`
	MarketplaceProductCodes []string `json:"marketplaceProductCodes"`
	ImageID                 string   `json:"imageId"`
	InstanceID              string   `json:"instanceId"`
	InstanceType            string   `json:"instanceType"`
	KernelID                *string  `json:"kernelId"`
	PendingTime             string   `json:"pendingTime"`
	PrivateIP               string   `json:"privateIp"`
	RamdiskID               *string  `json:"ramdiskId"`
	Region                  string   `json:"region"`
	Version                 string   `json:"version"`
}

func (s *Server) document() string {
	id := s.cfg.Identity
	b, err := json.MarshalIndent(identityDocument{
		AccountID:        s.cfg.AccountID,
		Architecture:     "x86_64",
		AvailabilityZone: id.AvailabilityZone,
		ImageID:          id.AMI,
		InstanceID:       id.InstanceID,
		InstanceType:     id.InstanceType,
		PendingTime:      s.pendingTime().Format(time.RFC3339),
		PrivateIP:        id.PrivateIP,
		Region:           id.Region,
		Version:          "2017-09-30",
	}, "", "  ")
	if err != nil {
		panic("imdsemu: encoding the identity document: " + err.Error())
	}
	return string(b)
}

// pendingTime is when the instance last entered pending.
func (s *Server) pendingTime() time.Time {
	if t := s.events().PendingTime; !t.IsZero() {
		return t.UTC().Truncate(time.Second)
	}
	return s.pending
}

// plain writes a text/plain answer.
func plain(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// drop closes the connection without answering; where the server cannot
// hand over the connection it answers 503 instead.
func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		plain(w, http.StatusServiceUnavailable, "503 - Service Unavailable")
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		plain(w, http.StatusServiceUnavailable, "503 - Service Unavailable")
		return
	}
	_ = conn.Close()
}
