package farmpage

import (
	"bytes"
	"context"
	_ "embed"
	"html/template"
	"net/http"
	"slices"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/farmhand/farmhand/agent/coordinator"
)

//go:embed page.tmpl
var pageSource string

var page = template.Must(template.New("page").Parse(pageSource))

// view is what the template reads: the data and what is derived from it.
type view struct {
	D              *Data
	RefreshSeconds int
	Groups         []roleGroup
	Counts         []statusCount
	Decisions      []coordinator.Decision // newest first
	Uptime         string
	ViewChanged    string
}

// Render writes the page for d.
func Render(d *Data) ([]byte, error) {
	v := view{D: d, RefreshSeconds: max(1, int(d.Refresh/time.Second)), Groups: d.groups(), Counts: d.counts(),
		Uptime: age(d.Now, d.Self.StartedAt), ViewChanged: age(d.Now, d.Self.LastChange)}
	if d.Coordinator != nil {
		v.Decisions = slices.Clone(d.Coordinator.Decisions)
		slices.Reverse(v.Decisions)
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, &v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Handler serves the page at "/" while enabled() (the config's ui) holds,
// and 404 otherwise; read fills the data at each request.
func Handler(enabled func() bool, read func(ctx context.Context) (*Data, error), log hclog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" || !enabled() {
			http.Error(w, "not found: the farm page is at / when ui = true; metrics are at /metrics", http.StatusNotFound)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "the farm page is read-only: use GET", http.StatusMethodNotAllowed)
			return
		}
		d, err := read(r.Context())
		if err != nil {
			log.Warn("farm page: reading the agent's state failed", "error", err)
			http.Error(w, "reading the agent's state: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		body, err := Render(d)
		if err != nil {
			log.Error("farm page: rendering failed", "error", err)
			http.Error(w, "rendering the page: "+err.Error(), http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		// Nothing but this page itself: no script, no remote asset.
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		h.Set("X-Content-Type-Options", "nosniff")
		w.Write(body)
	})
}
