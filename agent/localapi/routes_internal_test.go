package localapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// renderer stands for an optional feature interface a backend may lack.
type renderer interface {
	Render(ctx context.Context) (string, error)
}

// baseOnly implements Backend (through the nil embedded interface) but not renderer.
type baseOnly struct{ Backend }

// withRender implements both.
type withRender struct{ Backend }

func (withRender) Render(context.Context) (string, error) { return "rendered", nil }

func (s *Server) postRender(r *http.Request) (any, error) {
	rb, err := backendAs[renderer](s, "render")
	if err != nil {
		return nil, err
	}
	return rb.Render(r.Context())
}

func TestOptionalFeatureRoute(t *testing.T) {
	for _, tc := range []struct {
		backend Backend
		code    int
		want    string
	}{
		{baseOnly{}, http.StatusNotImplemented, `render is not available on this agent`},
		{withRender{}, http.StatusOK, `"rendered"`},
	} {
		cfg := DefaultConfig()
		cfg.Backend = tc.backend
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		s.index = indexRoutes(map[string]handlerFunc{"POST /v1/render": (*Server).postRender})
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/render", nil))
		if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%T: %d %s, want %d containing %s", tc.backend, rec.Code, rec.Body, tc.code, tc.want)
		}
		if tc.code != 200 {
			var e ErrorResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Errorf("501 body %s is not {\"error\": ...}: %v", rec.Body, err)
			}
		}
	}
}

func TestRouteKeysAreWellFormed(t *testing.T) {
	idx := indexRoutes(routes)
	if len(idx) != len(routes) || idx["/v1/members"]["GET"] == nil || idx["/v1/leave"]["POST"] == nil ||
		idx["/v1/coordinator/status"]["GET"] == nil || idx["/v1/render"]["GET"] == nil {
		t.Errorf("route index %v lacks the v1 routes", idx)
	}
	defer func() {
		if recover() == nil {
			t.Error("a malformed route key did not panic")
		}
	}()
	indexRoutes(map[string]handlerFunc{"/v1/nomethod": (*Server).getStatus})
}
