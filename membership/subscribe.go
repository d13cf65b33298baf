package membership

import (
	"sync"
	"sync/atomic"
)

// hub fans view events out to subscribers. Publishing never blocks: gossip
// callbacks call it, and a slow subscriber must not stall memberlist. An
// event that does not fit in a subscriber's buffer is dropped and counted;
// a subscriber that cares about the final state re-reads Members().
type hub struct {
	mu      sync.Mutex
	subs    map[uint64]chan Event
	next    uint64
	closed  bool
	dropped atomic.Uint64
}

func newHub() *hub {
	return &hub{subs: map[uint64]chan Event{}}
}

// subscribe registers a subscriber with a buffer of buf events. The cancel
// function closes the channel; it is idempotent. After close, the returned
// channel is already closed.
func (h *hub) subscribe(buf int) (<-chan Event, func()) {
	if buf < 0 {
		buf = 0
	}
	ch := make(chan Event, buf)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(ch)
		return ch, func() {}
	}
	id := h.next
	h.next++
	h.subs[id] = ch
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if c, ok := h.subs[id]; ok {
			delete(h.subs, id)
			close(c)
		}
	}
}

// publish delivers ev to every subscriber that has room.
func (h *hub) publish(ev Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ch := range h.subs {
		select {
		case ch <- ev:
		default:
			h.dropped.Add(1)
		}
	}
}

// close closes every subscriber channel; later publishes are ignored.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for id, ch := range h.subs {
		delete(h.subs, id)
		close(ch)
	}
}

func (h *hub) numDropped() uint64 { return h.dropped.Load() }
