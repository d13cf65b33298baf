package localapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/agent/render"
	"github.com/farmhand/farmhand/bootstrap"
)

// Coordinator is implemented by backends whose agent runs the coordinator
// (coordinator.enabled); others answer 501 on /v1/coordinator/*.
type Coordinator interface {
	CoordinatorStatus(ctx context.Context) (coordinator.Status, error)
	CoordinatorHistory(ctx context.Context, n int) ([]coordinator.Decision, error)
	CoordinatorPlan(ctx context.Context) (coordinator.Plan, error)
}

// Renderer is implemented by backends whose agent has render blocks.
type Renderer interface {
	RenderStatus(ctx context.Context) ([]render.TargetStatus, error)
}

// BucketChecker is implemented by backends that can HEAD the registry's
// bucket; GET /v1/registry/bucket sends one HEAD per request.
type BucketChecker interface {
	CheckBucket(ctx context.Context) (bootstrap.BucketStatus, error)
}

// HistoryResponse is the answer of GET /v1/coordinator/history.
type HistoryResponse struct {
	Decisions []coordinator.Decision `json:"decisions"`
}

// RenderResponse is the answer of GET /v1/render.
type RenderResponse struct {
	Targets []render.TargetStatus `json:"targets"`
}

// getCoordinatorStatus answers GET /v1/coordinator/status.
func (s *Server) getCoordinatorStatus(r *http.Request) (any, error) {
	c, err := backendAs[Coordinator](s, "the coordinator (coordinator { enabled = true })")
	if err != nil {
		return nil, err
	}
	return c.CoordinatorStatus(r.Context())
}

// getCoordinatorHistory answers GET /v1/coordinator/history?n=N.
func (s *Server) getCoordinatorHistory(r *http.Request) (any, error) {
	c, err := backendAs[Coordinator](s, "the coordinator (coordinator { enabled = true })")
	if err != nil {
		return nil, err
	}
	n := 0
	if v := r.URL.Query().Get("n"); v != "" {
		if n, err = strconv.Atoi(v); err != nil || n < 0 {
			return nil, Errorf(http.StatusBadRequest, "query parameter n=%q: want a whole number >= 0", v)
		}
	}
	ds, err := c.CoordinatorHistory(r.Context(), n)
	if err != nil {
		return nil, err
	}
	return HistoryResponse{Decisions: ds}, nil
}

// getCoordinatorPlan answers GET /v1/coordinator/plan.
func (s *Server) getCoordinatorPlan(r *http.Request) (any, error) {
	c, err := backendAs[Coordinator](s, "the coordinator (coordinator { enabled = true })")
	if err != nil {
		return nil, err
	}
	return c.CoordinatorPlan(r.Context())
}

// getRender answers GET /v1/render: the state of every render block.
func (s *Server) getRender(r *http.Request) (any, error) {
	rr, err := backendAs[Renderer](s, "rendering (render blocks in the config)")
	if err != nil {
		return nil, err
	}
	ts, err := rr.RenderStatus(r.Context())
	if err != nil {
		return nil, err
	}
	return RenderResponse{Targets: ts}, nil
}

// getRegistryBucket answers GET /v1/registry/bucket: whether the
// registry's bucket answers a HEAD now.
func (s *Server) getRegistryBucket(r *http.Request) (any, error) {
	b, err := backendAs[BucketChecker](s, "the bucket check")
	if err != nil {
		return nil, err
	}
	return b.CheckBucket(r.Context())
}
