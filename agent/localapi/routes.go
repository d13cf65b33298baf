package localapi

import (
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
)

// handlerFunc answers one route; its result is sent as JSON with status 200,
// its error as {"error": ...} with the code errorCode picks.
type handlerFunc func(s *Server, r *http.Request) (any, error)

// routes is the whole API: "METHOD /path" to handler. Adding an endpoint is
// one line here plus its handler.
var routes = map[string]handlerFunc{
	"GET /v1/status":  (*Server).getStatus,
	"GET /v1/members": (*Server).getMembers,
	"POST /v1/leave":  (*Server).postLeave,
	"POST /v1/reload": (*Server).postReload,

	"GET /v1/coordinator/status":  (*Server).getCoordinatorStatus,
	"GET /v1/coordinator/history": (*Server).getCoordinatorHistory,
	"GET /v1/coordinator/plan":    (*Server).getCoordinatorPlan,
	"GET /v1/render":              (*Server).getRender,
	"GET /v1/registry/bucket":     (*Server).getRegistryBucket,
}

// indexRoutes turns "METHOD /path" keys into path -> method -> handler.
func indexRoutes(rs map[string]handlerFunc) map[string]map[string]handlerFunc {
	idx := map[string]map[string]handlerFunc{}
	for key, h := range rs {
		method, path, ok := strings.Cut(key, " ")
		if !ok || method == "" || !strings.HasPrefix(path, "/") {
			panic(fmt.Sprintf("localapi: bad route key %q: want \"METHOD /path\"", key))
		}
		if idx[path] == nil {
			idx[path] = map[string]handlerFunc{}
		}
		idx[path][method] = h
	}
	return idx
}

// ServeHTTP dispatches r through the route index.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	byMethod, ok := s.index[r.URL.Path]
	if !ok {
		s.reply(w, r, nil, Errorf(http.StatusNotFound, "no endpoint %s; this agent serves %s",
			r.URL.Path, strings.Join(s.paths(), ", ")))
		return
	}
	h, ok := byMethod[r.Method]
	if !ok {
		allowed := make([]string, 0, len(byMethod))
		for m := range byMethod {
			allowed = append(allowed, m)
		}
		sort.Strings(allowed)
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		s.reply(w, r, nil, Errorf(http.StatusMethodNotAllowed, "method %s not allowed on %s: use %s",
			r.Method, r.URL.Path, strings.Join(allowed, " or ")))
		return
	}
	v, err := h(s, r)
	// The index is read after the handler: the view it answered with is at
	// least as new, so a watcher asking again with it misses no change.
	s.setIndex(w.Header())
	s.reply(w, r, v, err)
}

// reply writes v, or err as {"error": ...}, and logs failures.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, v any, err error) {
	code := http.StatusOK
	if err != nil {
		code = errorCode(err)
		v = ErrorResponse{Error: err.Error()}
		if code >= 500 {
			s.log.Warn("local API request failed", "method", r.Method, "path", r.URL.Path, "code", code, "error", err)
		} else {
			s.log.Debug("local API request refused", "method", r.Method, "path", r.URL.Path, "code", code, "error", err)
		}
	}
	if werr := writeJSON(w, code, v); werr != nil {
		s.log.Debug("writing local API response", "path", r.URL.Path, "error", werr)
	}
}

// paths lists the served paths, sorted, for error messages.
func (s *Server) paths() []string {
	ps := make([]string, 0, len(s.index))
	for p := range s.index {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

// backendAs returns the backend as the optional feature interface T, or a
// 501 error naming the feature when the backend does not implement it.
// A handler for an optional feature starts with:
//
//	r, err := backendAs[Renderer](s, "render")
func backendAs[T any](s *Server, feature string) (T, error) {
	impl, ok := s.backend.(T)
	if !ok {
		return impl, Errorf(http.StatusNotImplemented, "%s is not available on this agent (its backend does not implement %s)",
			feature, reflect.TypeFor[T]().Name())
	}
	return impl, nil
}
