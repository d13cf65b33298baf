package localapi

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Blocking queries, in Consul's convention: GET /v1/members?index=N&wait=D
// answers once the view's index differs from N (it passed N, or N is from
// an earlier run of the agent), or when D is over, with the view as it is
// then. Every answer carries the index in the IndexHeader header, so a
// watcher loops: read, remember the index, ask again with it.
const (
	// IndexHeader holds the view's index in every answer of an agent whose
	// backend is a Watcher.
	IndexHeader = "X-Farmhand-Index"
	// DefaultWait is the wait of a blocking query without a wait parameter.
	DefaultWait = 5 * time.Minute
	// MaxWait caps the wait parameter (Consul's cap).
	MaxWait = 10 * time.Minute
)

// Watcher is implemented by backends whose member view has an index
// (membership.Cluster's); without it GET /v1/members never blocks.
type Watcher interface {
	// Index is the view's index now.
	Index() uint64
	// WaitIndex returns the index once it differs from after, or when ctx
	// ends.
	WaitIndex(ctx context.Context, after uint64) uint64
}

// blockingQuery is the index and wait of a request; block is false when
// the request has no index (or index=0): it is answered at once.
type blockingQuery struct {
	index uint64
	wait  time.Duration
	block bool
}

// parseBlocking takes index and wait out of q (the rest is the filter).
func parseBlocking(q url.Values) (blockingQuery, error) {
	bq := blockingQuery{wait: DefaultWait}
	if v, ok := q["index"]; ok {
		if len(v) != 1 {
			return bq, fmt.Errorf("query parameter index: given %d times, want at most once", len(v))
		}
		n, err := strconv.ParseUint(v[0], 10, 64)
		if err != nil {
			return bq, fmt.Errorf("query parameter index=%q: want the whole number from the %s header of an earlier answer", v[0], IndexHeader)
		}
		bq.index, bq.block = n, n > 0
		q.Del("index")
	}
	if v, ok := q["wait"]; ok {
		if len(v) != 1 {
			return bq, fmt.Errorf("query parameter wait: given %d times, want at most once", len(v))
		}
		d, err := time.ParseDuration(v[0])
		if err != nil || d <= 0 {
			return bq, fmt.Errorf("query parameter wait=%q: want a positive duration such as 30s (at most %s)", v[0], MaxWait)
		}
		bq.wait = min(d, MaxWait)
		q.Del("wait")
	}
	return bq, nil
}

// shutdownKey holds, in a request's context, the context of the Run that
// serves it: its end (the server shutting down) ends blocking queries, so
// that a watcher does not hold up the graceful shutdown.
type shutdownKey struct{}

// await blocks the request until the view's index moves past bq.index, the
// wait is over (a sixteenth of it added at random, as Consul does, so that
// many watchers do not come back at once) or the server shuts down. It
// returns nothing: the caller reads the view afterwards.
func (s *Server) await(ctx context.Context, w Watcher, bq blockingQuery) {
	if !bq.block {
		return
	}
	wait := bq.wait + jitter(bq.wait/16)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if run, ok := ctx.Value(shutdownKey{}).(context.Context); ok {
		defer context.AfterFunc(run, cancel)()
	}
	t := s.cfg.Clock.AfterFunc(wait, cancel)
	defer t.Stop()
	w.WaitIndex(ctx, bq.index)
}

// setIndex puts the backend's view index in the header, if it has one.
func (s *Server) setIndex(h http.Header) {
	if w, ok := s.backend.(Watcher); ok {
		h.Set(IndexHeader, strconv.FormatUint(w.Index(), 10))
	}
}

// jitter is a random duration in [0, d).
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}
