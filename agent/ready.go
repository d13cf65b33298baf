package agent

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Agent states as the local API reports them.
const (
	StateBootstrapping = "bootstrapping"
	StateAlive         = "alive"
	StateLeaving       = "leaving"
	StateLeft          = "left"
)

// readiness is the agent's state, its READY and what systemd hears of
// both: bootstrapping until the boot loop declares the agent up (READY=1),
// then alive; leaving and left during the stop (STOPPING=1).
type readiness struct {
	state  atomic.Value // string
	ready  chan struct{}
	once   sync.Once
	notify notifier
}

func newReadiness(n notifier) *readiness {
	r := &readiness{ready: make(chan struct{}), notify: n}
	r.state.Store(StateBootstrapping)
	return r
}

// get is the current state.
func (r *readiness) get() string { return r.state.Load().(string) }

// markReady makes the agent alive and tells systemd, once; it reports
// whether this call did.
func (r *readiness) markReady(reason string) bool {
	first := false
	r.once.Do(func() {
		first = true
		r.state.Store(StateAlive)
		close(r.ready)
		r.notify.Ready()
		r.notify.Status(fmt.Sprintf("alive: %s", reason))
	})
	return first
}

// leaving starts the stop: state leaving, STOPPING=1.
func (r *readiness) leaving() {
	r.state.Store(StateLeaving)
	r.notify.Stopping()
}

// left is the state once the leave is done and the record deleted.
func (r *readiness) left() { r.state.Store(StateLeft) }
