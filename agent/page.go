package agent

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/agent/farmpage"
)

const (
	// pageRefresh is how often the farm page reloads itself.
	pageRefresh = 2 * time.Second
	// pageOutsideTTL is how long the page reuses the leader's view and
	// ledger read from S3 (on an agent that is not the leader): while
	// someone watches the page, at most 2 GETs per this period; none
	// otherwise.
	pageOutsideTTL = 30 * time.Second
	// pageDecisions is how many decisions the page shows.
	pageDecisions = 20
)

// farmPage fills the farm page (ui = true) from the agent's parts.
type farmPage struct {
	b      *backend
	store  coordinator.ObjectStore
	clock  clockwork.Clock
	logger hclog.Logger

	mu      sync.Mutex
	readAt  time.Time
	outside *farmpage.Coordinator // the leader's, as last read from S3
}

// handler serves the page while the running config has ui = true.
func (p *farmPage) handler() http.Handler {
	return farmpage.Handler(func() bool { return p.b.cfg.get().UI }, p.data, p.logger)
}

// data reads the page's data now.
func (p *farmPage) data(ctx context.Context) (*farmpage.Data, error) {
	st, err := p.b.Status(ctx)
	if err != nil {
		return nil, err
	}
	d := &farmpage.Data{
		Now: p.clock.Now(), Refresh: pageRefresh, Cluster: st.Cluster, Members: p.b.cluster.Members(),
		Self: farmpage.Self{Name: st.Name, Addr: st.Addr, State: st.State, Version: st.Version,
			Role: st.Tags["role"], AZ: st.Tags["az"], StartedAt: st.StartedAt, LastChange: st.LastChange,
			S3: st.S3, Joins: st.Joins, Reconnects: st.Reconnects},
	}
	if sk := p.b.registry.Stats().Skipped; len(sk) > 0 {
		d.Self.Skipped = map[string]int64{}
		for reason, n := range sk {
			d.Self.Skipped[string(reason)] = n
		}
	}
	if ts, ok := p.b.render.status(); ok {
		for _, t := range ts {
			if t.LastError != "" {
				d.Self.Problems = append(d.Self.Problems, fmt.Sprintf("render %s: %s", t.Name, t.LastError))
			}
		}
	}
	if c, ok := p.b.coord.current(); ok {
		if cs := c.Status(); cs.Leader {
			d.Coordinator = &farmpage.Coordinator{Source: "this agent, the leader (its memory)", Leader: cs.Holder, Epoch: cs.Epoch,
				Here: true, DryRun: cs.DryRun, Groups: cs.Groups, Pending: len(cs.Pending), Decisions: cs.LastDecisions}
			return d, nil
		}
	}
	d.Coordinator = p.outsideView(ctx, st.Name)
	return d, nil
}

// outsideView is the leader's published view and ledger, read from S3 at
// most once per pageOutsideTTL; nil when there is neither.
func (p *farmPage) outsideView(ctx context.Context, self string) *farmpage.Coordinator {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	if !p.readAt.IsZero() && now.Sub(p.readAt) < pageOutsideTTL {
		return p.outside
	}
	p.readAt = now
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	bucket, prefix := p.b.cfg.get().Registry.Bucket, p.b.registry.ClusterPrefix()
	c := &farmpage.Coordinator{Source: fmt.Sprintf("the leader's view and ledger in s3://%s/%s (read every %s)", bucket, prefix, pageOutsideTTL)}
	var problems []string
	v, err := coordinator.ReadView(ctx, p.store, bucket, prefix+coordinator.ViewObject)
	if err != nil {
		problems = append(problems, err.Error())
	}
	l, err := coordinator.ReadLedger(ctx, p.store, bucket, prefix+coordinator.LedgerObject, pageDecisions)
	if err != nil {
		problems = append(problems, err.Error())
	}
	if v == nil && l == nil && len(problems) == 0 {
		p.outside = nil
		return nil
	}
	if v != nil {
		vc := v.Coordinator
		c.Leader, c.Epoch, c.DryRun, c.Groups, c.Pending = vc.Leader, vc.Epoch, vc.DryRun, vc.Groups, vc.Pending
		c.Source += fmt.Sprintf(", view published %s ago", now.Sub(v.Time).Round(time.Second))
	}
	if l != nil {
		c.Decisions = l.Decisions
		if c.Leader == "" {
			c.Leader, c.Epoch = l.Holder, l.Epoch
		}
	}
	c.Here = c.Leader == self
	if len(problems) > 0 {
		c.Error = fmt.Sprint(problems)
	}
	p.outside = c
	return c
}

// servePage serves the farm page on the metrics listener ("/"), once the
// agent has set it; 404 before.
func (m *metricsServer) servePage(w http.ResponseWriter, r *http.Request) {
	if h := m.page.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	http.NotFound(w, r)
}

// setPage installs the farm page's handler.
func (m *metricsServer) setPage(h http.Handler) { m.page.Store(&h) }
