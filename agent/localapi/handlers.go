package localapi

import (
	"fmt"
	"net/http"
)

// getStatus answers GET /v1/status.
func (s *Server) getStatus(r *http.Request) (any, error) {
	st, err := s.backend.Status(r.Context())
	if err != nil {
		return nil, fmt.Errorf("reading agent status: %w", err)
	}
	return st, nil
}

// getMembers answers GET /v1/members?status=&role=&tag=k=v...
func (s *Server) getMembers(r *http.Request) (any, error) {
	f, err := ParseMemberFilter(r.URL.Query())
	if err != nil {
		return nil, &HTTPError{Code: http.StatusBadRequest, Message: err.Error()}
	}
	all, err := s.backend.Members(r.Context())
	if err != nil {
		return nil, fmt.Errorf("reading the member view: %w", err)
	}
	return MembersResponse{Members: f.Select(all)}, nil
}

// postLeave answers POST /v1/leave.
func (s *Server) postLeave(r *http.Request) (any, error) {
	st, err := s.backend.Status(r.Context())
	if err != nil {
		return nil, fmt.Errorf("reading agent status before leaving: %w", err)
	}
	if err := s.backend.Leave(r.Context()); err != nil {
		return nil, fmt.Errorf("leaving cluster %s: %w", st.Cluster, err)
	}
	return LeaveResponse{
		Name:    st.Name,
		Cluster: st.Cluster,
		Message: fmt.Sprintf("%s left cluster %s gracefully; the agent is shutting down", st.Name, st.Cluster),
	}, nil
}

// postReload answers POST /v1/reload.
func (s *Server) postReload(r *http.Request) (any, error) {
	if err := s.backend.Reload(r.Context()); err != nil {
		return nil, fmt.Errorf("reloading the configuration: %w", err)
	}
	return ReloadResponse{Message: "configuration reloaded"}, nil
}
