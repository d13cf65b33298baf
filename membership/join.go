package membership

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Join contacts the candidates ("ip:port"; the port defaults to this
// node's) in order, at most Config.JoinFanout at a time, and returns as
// soon as one has answered, with the number that had answered by then. A
// stale candidate costs one attempt slot, not a serial timeout, and ctx
// bounds the whole call. Candidates that are this node itself are skipped. Attempts still
// in flight when Join returns finish in the background (each is bounded by
// memberlist's TCPTimeout) and may merge more state. A successful Join is
// followed by a few state syncs in the background (see settle.go).
func (c *Cluster) Join(ctx context.Context, addrs []string) (int, error) {
	n, err := c.join(ctx, addrs)
	if n > 0 {
		c.stats.joins.Add(1)
		c.kickSettle()
	} else {
		c.stats.joinFailures.Add(1)
	}
	return n, err
}

type joinResult struct {
	addr string
	err  error
}

// joinError is one failed candidate, flattened to one line (memberlist
// returns multi-line multierrors).
type joinError struct {
	addr string
	err  error
}

func (e *joinError) Error() string {
	return e.addr + ": " + strings.Join(strings.Fields(e.err.Error()), " ")
}

func (e *joinError) Unwrap() error { return e.err }

func (c *Cluster) join(ctx context.Context, addrs []string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("membership: join: %w", err)
	}
	cands := c.candidates(addrs)
	if len(cands) == 0 {
		return 0, fmt.Errorf("membership: join: no candidates other than this node among %d addresses: check the registry or the addresses given", len(addrs))
	}
	// Buffered for every candidate, so attempts abandoned by an early
	// return never block.
	results := make(chan joinResult, len(cands))
	next, inflight := 0, 0
	start := func() bool {
		addr := cands[next]
		next++
		ok := c.goTracked(func() {
			_, err := c.ml.Join([]string{addr})
			results <- joinResult{addr: addr, err: err}
		})
		if ok {
			inflight++
		}
		return ok
	}
	for inflight < c.cfg.JoinFanout && next < len(cands) {
		if !start() {
			return 0, fmt.Errorf("membership: join: %w", ErrShutdown)
		}
	}
	var errs []error
	for inflight > 0 {
		select {
		case r := <-results:
			inflight--
			if r.err == nil {
				return 1 + drainSuccesses(results), nil
			}
			errs = append(errs, &joinError{addr: r.addr, err: r.err})
			c.logger.Debug("join candidate did not answer", "addr", r.addr, "error", errs[len(errs)-1])
			if next < len(cands) && ctx.Err() == nil {
				start()
			}
		case <-ctx.Done():
			return 0, fmt.Errorf("membership: join: %w after starting %d of %d candidates (%d failed); check that the candidates run farmhand", ctx.Err(), next, len(cands), len(errs))
		}
	}
	if len(errs) == 0 {
		return 0, fmt.Errorf("membership: join: %w", ErrShutdown)
	}
	return 0, fmt.Errorf("membership: join: none of %d candidates answered (first: %w): check the addresses, the cluster name and the gossip keys", len(cands), errs[0])
}

// drainSuccesses counts the successes already waiting in results.
func drainSuccesses(results <-chan joinResult) int {
	n := 0
	for {
		select {
		case r := <-results:
			if r.err == nil {
				n++
			}
		default:
			return n
		}
	}
}

// candidates normalizes addrs to host:port, drops duplicates, empty
// entries and this node's own address, and keeps the order.
func (c *Cluster) candidates(addrs []string) []string {
	self := c.ml.LocalNode()
	selfAddr := net.JoinHostPort(self.Addr.String(), strconv.Itoa(int(self.Port)))
	defPort := strconv.Itoa(int(self.Port))
	seen := map[string]bool{selfAddr: true}
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			host, port = strings.Trim(a, "[]"), defPort
		}
		hp := net.JoinHostPort(host, port)
		if seen[hp] {
			continue
		}
		seen[hp] = true
		out = append(out, hp)
	}
	return out
}
