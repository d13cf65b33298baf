package render

import "time"

// TargetStatus is what the local API reports about one render block.
type TargetStatus struct {
	// Name, Template and Destination identify the block.
	Name        string `json:"name"`
	Template    string `json:"template"`
	Destination string `json:"destination"`
	// Pending is true while a change waits for the debounce and stability
	// window; DueAt is when it will be applied if nothing else changes.
	Pending bool      `json:"pending"`
	DueAt   time.Time `json:"due_at,omitzero"`
	// Evaluations counts the views the template was rendered against.
	Evaluations uint64 `json:"evaluations"`
	// Renders counts the times a rendering was compared with the file on
	// disk (at start and after each window); LastRender is the latest.
	Renders    uint64    `json:"renders"`
	LastRender time.Time `json:"last_render,omitzero"`
	// Writes counts the times the file content changed on disk.
	Writes    uint64    `json:"writes"`
	LastWrite time.Time `json:"last_write,omitzero"`
	// ReloadRuns and ReloadFailures count reload command runs and failed
	// runs; LastReload and LastReloadOutput describe the latest run.
	ReloadRuns       uint64    `json:"reload_runs"`
	ReloadFailures   uint64    `json:"reload_failures"`
	LastReload       time.Time `json:"last_reload,omitzero"`
	LastReloadOutput string    `json:"last_reload_output,omitempty"`
	// ReloadOwed is true after a failed reload: it is retried on the next
	// change, even if the file content is then unchanged.
	ReloadOwed bool `json:"reload_owed"`
	// LastError is the latest render, write or reload error, cleared by the
	// next success; LastErrorAt is when it happened.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

// Status returns the state of every render block, in config order. It is
// safe to call from any goroutine, before, during and after Run.
func (r *Runner) Status() []TargetStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]TargetStatus(nil), r.status...)
}
