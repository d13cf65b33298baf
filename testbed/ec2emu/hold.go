package ec2emu

import (
	"net/http"
	"sync"
)

// runHold holds successful RunInstances answers (HoldRunResponse).
type runHold struct {
	mu      sync.Mutex
	armed   bool
	held    chan struct{} // closed once a call is held
	release chan struct{} // closed by the release function
}

// HoldRunResponse makes the next RunInstances call that succeeds do its
// work (launch, or replay a known ClientToken) and then hold its answer
// until release is called, the caller goes away or the emulator closes:
// the caller is mid-call while its instances exist. held is closed once
// such a call is being held. Tests use it to kill a coordinator at that
// exact point. release is safe to call more than once.
func (s *Server) HoldRunResponse() (held <-chan struct{}, release func()) {
	h := &s.hold
	h.mu.Lock()
	defer h.mu.Unlock()
	h.armed = true
	h.held, h.release = make(chan struct{}), make(chan struct{})
	rel := h.release
	var once sync.Once
	return h.held, func() { once.Do(func() { close(rel) }) }
}

// holdRun holds the answer of r, a successful RunInstances, when a hold
// is armed.
func (s *Server) holdRun(r *http.Request) {
	h := &s.hold
	h.mu.Lock()
	if !h.armed {
		h.mu.Unlock()
		return
	}
	h.armed = false
	held, release := h.held, h.release
	h.mu.Unlock()
	close(held)
	s.log.Info("RunInstances answer held on purpose")
	select {
	case <-release:
	case <-r.Context().Done():
	case <-s.ctx.Done():
	}
}
