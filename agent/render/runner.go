package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/membership"
)

// maxReloadOutput caps the reload output kept in Status and logs.
const maxReloadOutput = 4096

// RunnerConfig configures a Runner.
type RunnerConfig struct {
	// Cluster is the cluster name templates see as .Cluster.
	Cluster string
	// Targets are the render blocks; each is compiled by NewRunner.
	Targets []Spec
	// View returns the current member view and this node's own member. It
	// is called once at start and once per notification. Required.
	View func() ([]membership.Member, membership.Member)
	// Events, if not nil, signals that the view may have changed; a closed
	// channel is ignored from then on. Runner.Notify does the same.
	Events <-chan struct{}
	// Clock times the debounce, stability window and reload timeout.
	Clock clockwork.Clock
	// Logger receives writes, reload output and failures.
	Logger hclog.Logger
	// Exec runs a reload command; ctx carries the block's ReloadTimeout.
	// The default is ShellExec ("/bin/sh -c").
	Exec func(ctx context.Context, command string) ([]byte, error)
}

// DefaultRunnerConfig returns a config with the real clock, a null logger
// and ShellExec; the caller sets Cluster, Targets, View and Events.
func DefaultRunnerConfig() RunnerConfig {
	return RunnerConfig{
		Clock:  clockwork.NewRealClock(),
		Logger: hclog.NewNullLogger(),
		Exec:   ShellExec,
	}
}

// Runner keeps the render blocks' files in step with the member view: it
// renders every block at start, then after each view change once the
// block's debounce and stability window have passed, writes a file only
// when its content changed, and then runs the block's reload command once.
// A member that starts draining skips the windows: every block whose
// rendering changed is applied at once (with the rest of the view as it
// is then), so exclude lists take a node while it is still up, before
// its deadline.
type Runner struct {
	cfg     RunnerConfig
	targets []*targetState
	notify  chan struct{}
	started atomic.Bool
	// draining are the names of the members draining in the latest view,
	// owned by the Run loop: a name new here skips the windows.
	draining map[string]bool
	drainNew bool

	mu     sync.Mutex
	status []TargetStatus // guarded by mu; published by the Run loop
}

// targetState is one block's state, owned by the Run loop.
type targetState struct {
	target *Target
	log    hclog.Logger
	// candidate is the latest rendering; valid when hasCandidate.
	candidate    []byte
	hasCandidate bool
	// pending is set by a change of candidate; first and last are the
	// times of the first and latest change since the last apply.
	pending     bool
	first, last time.Time
	st          TargetStatus
}

// NewRunner compiles every block (see Compile) and checks that names and
// destinations are unique.
func NewRunner(cfg RunnerConfig) (*Runner, error) {
	if cfg.View == nil {
		return nil, errors.New("render: RunnerConfig.View is nil; pass the function that returns the member view")
	}
	d := DefaultRunnerConfig()
	if cfg.Clock == nil {
		cfg.Clock = d.Clock
	}
	if cfg.Logger == nil {
		cfg.Logger = d.Logger
	}
	if cfg.Exec == nil {
		cfg.Exec = d.Exec
	}
	r := &Runner{cfg: cfg, notify: make(chan struct{}, 1)}
	names := map[string]bool{}
	dests := map[string]string{}
	for _, spec := range cfg.Targets {
		t, err := Compile(spec)
		if err != nil {
			return nil, err
		}
		s := t.Spec()
		if names[s.Name] {
			return nil, fmt.Errorf("render %q: two render blocks have this name; give each a unique name", s.Name)
		}
		names[s.Name] = true
		dest := filepath.Clean(s.Destination)
		if other, ok := dests[dest]; ok {
			return nil, fmt.Errorf("render %q: destination %s is also written by render %q; give each block its own file", s.Name, dest, other)
		}
		dests[dest] = s.Name
		r.targets = append(r.targets, &targetState{
			target: t,
			log:    cfg.Logger.With("render", s.Name, "destination", s.Destination),
			st:     TargetStatus{Name: s.Name, Template: s.Template, Destination: s.Destination},
		})
	}
	r.publish()
	return r, nil
}

// Notify tells the Runner the view may have changed. It never blocks;
// notifications that arrive while one is queued are merged.
func (r *Runner) Notify() {
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// Run renders every block once at once, then follows the view until ctx
// ends, and returns nil. Render, write and reload failures are logged and
// reported in Status; they never stop Run. Run may be called only once.
func (r *Runner) Run(ctx context.Context) error {
	if !r.started.CompareAndSwap(false, true) {
		return errors.New("render: Runner.Run called twice; create a new Runner")
	}
	r.evaluateAll()
	now := r.cfg.Clock.Now()
	for _, ts := range r.targets {
		if ts.pending {
			r.apply(ctx, ts, now)
		}
	}
	r.drainNew = false // the first render applied them all
	// Nothing is pending now: publish at once, so that a reader who finds
	// the first file in place also finds its write counted (it never saw
	// the block pending, so it cannot wait for that to clear).
	r.publish()
	events := r.cfg.Events
	for {
		var timer clockwork.Timer
		var fire <-chan time.Time
		if due, ok := r.nextDue(); ok {
			timer = r.cfg.Clock.NewTimer(r.cfg.Clock.Until(due))
			fire = timer.Chan()
		}
		// Publish only once the timer is armed, so a reader that saw this
		// status may advance a fake clock past DueAt.
		r.publish()
		select {
		case <-ctx.Done():
		case <-r.notify:
			r.evaluateAll()
			r.applyDrains(ctx)
		case _, ok := <-events:
			if !ok {
				events = nil
				break
			}
			r.evaluateAll()
			r.applyDrains(ctx)
		case <-fire:
			r.applyDue(ctx)
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			r.publish()
			return nil
		}
	}
}

// evaluateAll renders every block against the current view and marks the
// blocks whose rendering changed as pending.
func (r *Runner) evaluateAll() {
	view, local := r.cfg.View()
	now := r.cfg.Clock.Now()
	r.noteDrains(view)
	for _, ts := range r.targets {
		ts.st.Evaluations++
		content, err := ts.target.Render(r.cfg.Cluster, view, local)
		if err != nil {
			r.fail(ts, now, err, "render failed; keeping the previous file")
			continue
		}
		if ts.hasCandidate && bytes.Equal(content, ts.candidate) {
			continue
		}
		ts.candidate, ts.hasCandidate = content, true
		if !ts.pending {
			ts.pending, ts.first = true, now
		}
		ts.last = now
	}
}

// noteDrains records the members draining in view; a member not draining
// in the previous view makes drainNew true until applyDrains runs.
func (r *Runner) noteDrains(view []membership.Member) {
	next := make(map[string]bool)
	for _, m := range view {
		if m.Status == membership.StatusDraining {
			next[m.Name] = true
			if !r.draining[m.Name] {
				r.drainNew = true
			}
		}
	}
	r.draining = next
}

// applyDrains applies every pending block at once when a member started
// draining since the last call.
func (r *Runner) applyDrains(ctx context.Context) {
	if !r.drainNew {
		return
	}
	r.drainNew = false
	now := r.cfg.Clock.Now()
	for _, ts := range r.targets {
		if ts.pending {
			ts.log.Info("a member is draining: applying now, without the stability window")
			r.apply(ctx, ts, now)
		}
	}
}

// nextDue returns the earliest time a pending block may be applied.
func (r *Runner) nextDue() (time.Time, bool) {
	var next time.Time
	found := false
	for _, ts := range r.targets {
		if !ts.pending {
			continue
		}
		if due := dueAt(ts.first, ts.last, ts.target.Spec()); !found || due.Before(next) {
			next, found = due, true
		}
	}
	return next, found
}

// applyDue applies every pending block whose window has passed.
func (r *Runner) applyDue(ctx context.Context) {
	now := r.cfg.Clock.Now()
	for _, ts := range r.targets {
		if ts.pending && !dueAt(ts.first, ts.last, ts.target.Spec()).After(now) {
			r.apply(ctx, ts, now)
		}
	}
}

// apply writes the block's latest rendering if it differs from the file,
// and runs the reload command if the file changed or a reload is owed.
func (r *Runner) apply(ctx context.Context, ts *targetState, now time.Time) {
	ts.pending = false
	ts.st.Renders++
	ts.st.LastRender = now
	changed, err := ts.target.Write(ts.candidate)
	if err != nil {
		if changed {
			// The content is in place but not durably (e.g. the directory
			// fsync failed): the file did change, so its reload is owed.
			ts.st.ReloadOwed = true
		}
		// Forget the candidate so that the next view counts as a change
		// and the write is tried again.
		ts.hasCandidate = false
		r.fail(ts, now, err, "write failed; retrying on the next change")
		return
	}
	if changed {
		ts.st.Writes++
		ts.st.LastWrite = now
		ts.log.Info("wrote peer list", "bytes", len(ts.candidate))
	}
	if changed || ts.st.ReloadOwed {
		if err := r.reload(ctx, ts); err != nil {
			r.fail(ts, r.cfg.Clock.Now(), err, "reload failed; retrying on the next change",
				"output", ts.st.LastReloadOutput)
			return
		}
	}
	ts.st.LastError = ""
}

// reload runs the block's reload command with its timeout.
func (r *Runner) reload(ctx context.Context, ts *targetState) error {
	spec := ts.target.Spec()
	if spec.ReloadCommand == "" {
		ts.st.ReloadOwed = false
		return nil
	}
	rctx, cancel := clockwork.WithTimeout(ctx, r.cfg.Clock, spec.ReloadTimeout)
	out, err := r.cfg.Exec(rctx, spec.ReloadCommand)
	timedOut := false
	select {
	case <-rctx.Done():
		timedOut = ctx.Err() == nil
	default:
	}
	cancel()
	if len(out) > maxReloadOutput {
		out = out[:maxReloadOutput]
	}
	ts.st.ReloadRuns++
	ts.st.LastReload = r.cfg.Clock.Now()
	ts.st.LastReloadOutput = string(out)
	switch {
	case err != nil && timedOut:
		err = fmt.Errorf("reload command %q timed out after %s: %w", spec.ReloadCommand, spec.ReloadTimeout, err)
	case err != nil:
		err = fmt.Errorf("reload command %q failed: %w", spec.ReloadCommand, err)
	}
	if err != nil {
		ts.st.ReloadFailures++
		ts.st.ReloadOwed = true
		return err
	}
	ts.st.ReloadOwed = false
	ts.log.Info("reload command ran", "command", spec.ReloadCommand, "output", string(out))
	return nil
}

// fail records err as the block's last error and logs it with args.
func (r *Runner) fail(ts *targetState, now time.Time, err error, what string, args ...any) {
	ts.st.LastError = err.Error()
	ts.st.LastErrorAt = now
	ts.log.Error(what, append([]any{"error", err}, args...)...)
}

// publish copies the loop's state to the status Status returns.
func (r *Runner) publish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status = r.status[:0]
	for _, ts := range r.targets {
		st := ts.st
		st.Pending = ts.pending
		if ts.pending {
			st.DueAt = dueAt(ts.first, ts.last, ts.target.Spec())
		}
		r.status = append(r.status, st)
	}
}
