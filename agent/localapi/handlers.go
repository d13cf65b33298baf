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
	q := r.URL.Query()
	bq, err := parseBlocking(q)
	if err != nil {
		return nil, &HTTPError{Code: http.StatusBadRequest, Message: err.Error()}
	}
	f, err := ParseMemberFilter(q)
	if err != nil {
		return nil, &HTTPError{Code: http.StatusBadRequest, Message: err.Error()}
	}
	if w, ok := s.backend.(Watcher); ok {
		s.await(r.Context(), w, bq)
	}
	all, err := s.backend.Members(r.Context())
	if err != nil {
		return nil, fmt.Errorf("reading the member view: %w", err)
	}
	return MembersResponse{Members: f.Select(all)}, nil
}

// postLeave answers POST /v1/leave. Backend.Leave may finish the leave
// or only start it; the answer says which by the state that follows.
func (s *Server) postLeave(r *http.Request) (any, error) {
	st, err := s.backend.Status(r.Context())
	if err != nil {
		return nil, fmt.Errorf("reading agent status before leaving: %w", err)
	}
	if err := s.backend.Leave(r.Context()); err != nil {
		return nil, fmt.Errorf("leaving cluster %s: %w", st.Cluster, err)
	}
	resp := LeaveResponse{
		Name:    st.Name,
		Cluster: st.Cluster,
		State:   StateLeaving,
		Message: fmt.Sprintf("%s is leaving cluster %s gracefully; the agent exits once it is done", st.Name, st.Cluster),
	}
	if after, err := s.backend.Status(r.Context()); err == nil && after.State == StateLeft {
		resp.State = StateLeft
		resp.Message = fmt.Sprintf("%s left cluster %s gracefully; the agent is shutting down", st.Name, st.Cluster)
	}
	return resp, nil
}

// postReload answers POST /v1/reload: what was applied, or why nothing
// was.
func (s *Server) postReload(r *http.Request) (any, error) {
	resp, err := s.backend.Reload(r.Context())
	if err != nil {
		return nil, fmt.Errorf("reloading the configuration: %w", err)
	}
	return resp, nil
}
