package s3emu

import (
	"bytes"
	"net/http"
	"regexp"
	"strconv"
)

// listingFault says how ListObjectsV2 answers are cut.
type listingFault struct {
	pageSize int // at most this many keys per page, with a continuation token
	endAfter int // at most this many keys in all, claimed complete
}

func (l listingFault) active() bool { return l.pageSize > 0 || l.endAfter > 0 }

// maxKeys is the page limit to ask gofakes3 for.
func (l listingFault) maxKeys() int {
	switch {
	case l.pageSize > 0 && l.endAfter > 0:
		return min(l.pageSize, l.endAfter)
	case l.pageSize > 0:
		return l.pageSize
	}
	return l.endAfter
}

// TruncateListings makes ListObjectsV2 answer pages of at most n keys,
// every page but the last with IsTruncated and a NextContinuationToken, as
// S3 may with pages below its 1,000-key maximum. n <= 0 restores full pages.
func (s *Server) TruncateListings(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listing.pageSize = max(n, 0)
}

// EndListingsEarly makes every ListObjectsV2 answer hold at most n keys and
// claim to be the last page (IsTruncated false, no continuation token): the
// keys after the first n are silently missing, as in a listing that ends
// early. n <= 0 turns it off.
func (s *Server) EndListingsEarly(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listing.endAfter = max(n, 0)
}

var (
	truncatedTrue = []byte("<IsTruncated>true</IsTruncated>")
	nextToken     = regexp.MustCompile(`<NextContinuationToken>[^<]*</NextContinuationToken>`)
)

// serveListing answers a ListObjectsV2 request with its page cut as l says.
func (s *Server) serveListing(w http.ResponseWriter, r *http.Request, l listingFault) {
	r = r.Clone(r.Context())
	q := r.URL.Query()
	limit := l.maxKeys()
	if asked, err := strconv.Atoi(q.Get("max-keys")); err == nil && asked > 0 && asked < limit {
		limit = asked
	}
	q.Set("max-keys", strconv.Itoa(limit))
	r.URL.RawQuery = q.Encode()
	r.RequestURI = r.URL.RequestURI()
	if l.endAfter <= 0 {
		s.s3.ServeHTTP(w, r)
		return
	}
	rec := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
	s.s3.ServeHTTP(rec, r)
	body := bytes.Replace(rec.body.Bytes(), truncatedTrue, []byte("<IsTruncated>false</IsTruncated>"), 1)
	body = nextToken.ReplaceAll(body, nil)
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.status)
	_, _ = w.Write(body)
}

// bufferedResponse holds an answer so it can be rewritten before it is sent.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header         { return b.header }
func (b *bufferedResponse) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *bufferedResponse) WriteHeader(status int)      { b.status = status }
