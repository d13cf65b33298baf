package agent

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/farmhand/farmhand/agent/config"
)

// joinStatic joins the retry_join addresses, beside the registry, so that a
// first boot during an S3 outage still finds a known node. It reports
// whether any of them answered. The list is read afresh each time, so a
// reload changes it for the next round.
func (b *bootLoop) joinStatic(ctx context.Context) bool {
	if b.retryJoin == nil {
		return false
	}
	addrs := b.retryJoin()
	if len(addrs) == 0 {
		return false
	}
	n, err := b.cluster.Load().Join(ctx, addrs)
	if n == 0 {
		b.logger.Info("no retry_join address answered", "tried", len(addrs), "error", err)
		return false
	}
	b.markReady(fmt.Sprintf("joined through %d of %d retry_join addresses", n, len(addrs)))
	return true
}

// retryJoinAddrs is cfg's retry_join as host:port (the port defaulting to
// gossip.port, or 7946 when that is 0, "any"), without self (host:port).
func retryJoinAddrs(cfg *config.Config, self string) []string {
	port := cfg.Gossip.Port
	if port == 0 {
		port = config.DefaultGossipConfig().Port
	}
	var out []string
	for _, addr := range cfg.RetryJoin {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			addr = net.JoinHostPort(addr, strconv.Itoa(port))
		}
		if addr != self {
			out = append(out, addr)
		}
	}
	return out
}
