package membership

import (
	"context"
	"maps"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"
	"github.com/jonboulle/clockwork"
)

// view is this node's member list: every member memberlist has told us
// about, with its status and when it got there. memberlist reports joins,
// updates and deaths through its EventDelegate; it has no event (and no
// public state) for suspicion, so suspect comes from this node's own
// failed probes (see logtap.go) and ends with a successful probe, an
// update, a death, or when memberlist's longest suspicion would be over.
// Dead and left members stay until reapTime has passed.
type view struct {
	self     string
	clock    clockwork.Clock
	logger   hclog.Logger
	hub      *hub
	reapTime time.Duration
	// suspectTTL returns how long a suspicion can last in a cluster of n
	// members before memberlist either declares death or the member refutes.
	suspectTTL func(n int) time.Duration

	// wake is signalled when a deadline of tick may have moved earlier (a
	// new suspicion, death or leave), so the maintenance loop can re-arm.
	wake chan struct{}
	// suspected is signalled when a member becomes suspect, for the
	// recheck loop.
	suspected chan struct{}

	mu         sync.Mutex
	members    map[string]*entry
	lastChange time.Time
	// learned counts the members added to the view, ever.
	learned uint64
	// index grows by one with every event (every visible change); it
	// starts at 1, so a blocking query from index 0 returns at once.
	index uint64
	// changed is closed and cleared by the next change; waitIndex makes
	// it when it has to wait.
	changed chan struct{}
}

type entry struct {
	Member
	// leaving is the member's metaLeaving flag: it announced a Leave.
	leaving bool
	// draining is the member's metaDraining flag.
	draining bool
	// suspectUntil is when a local suspicion lapses back to alive.
	suspectUntil time.Time
	// recheckedAt is when this node last pinged the suspected member again
	// (see recheck.go); zero until then.
	recheckedAt time.Time
}

func newView(self string, clock clockwork.Clock, logger hclog.Logger, h *hub, reapTime time.Duration, suspectTTL func(int) time.Duration) *view {
	return &view{
		self:       self,
		clock:      clock,
		logger:     logger,
		hub:        h,
		reapTime:   reapTime,
		suspectTTL: suspectTTL,
		members:    map[string]*entry{},
		lastChange: clock.Now(),
		index:      1,
		wake:       make(chan struct{}, 1),
		suspected:  make(chan struct{}, 1),
	}
}

// observeAlive handles memberlist's NotifyJoin and NotifyUpdate: both mean
// memberlist now holds the node alive with the given address and meta.
func (v *view) observeAlive(n *memberlist.Node) {
	tags, flags := v.decode(n)
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.clock.Now()
	e, ok := v.members[n.Name]
	draining := flags&metaDraining != 0
	if !ok {
		e = v.addLocked(n, tags, upStatus(draining), now)
		e.leaving, e.draining = flags&metaLeaving != 0, draining
		v.emitLocked(now, Event{Type: EventJoin, Member: e.copy()})
		return
	}
	e.leaving, e.draining = flags&metaLeaving != 0, draining
	changed := e.setNode(n, tags)
	if up := upStatus(draining); e.Status != up {
		v.setStatusLocked(e, up, now)
		return
	}
	if changed {
		v.emitLocked(now, Event{Type: EventUpdate, Member: e.copy()})
	}
}

// observeLeave handles memberlist's NotifyLeave: the node is dead, or left
// if it announced its leave through the metaLeaving flag.
func (v *view) observeLeave(n *memberlist.Node) {
	tags, flags := v.decode(n)
	status := StatusDead
	if flags&metaLeaving != 0 {
		status = StatusLeft
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.clock.Now()
	e, ok := v.members[n.Name]
	if !ok {
		e = v.addLocked(n, tags, status, now)
		e.leaving = status == StatusLeft
		v.emitLocked(now, Event{Type: EventStatus, Member: e.copy()})
		v.wakeLocked()
		return
	}
	e.leaving = status == StatusLeft
	e.setNode(n, tags)
	if e.Status != status {
		v.setStatusLocked(e, status, now)
	}
}

// suspect records that this node's probe of name failed.
func (v *view) suspect(name string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.members[name]
	if !ok || name == v.self || !e.Status.up() {
		return
	}
	now := v.clock.Now()
	e.suspectUntil = now.Add(v.suspectTTL(v.numLiveLocked()))
	e.recheckedAt = now
	if e.Status != StatusSuspect {
		v.setStatusLocked(e, StatusSuspect, now)
	}
	v.wakeLocked()
	select {
	case v.suspected <- struct{}{}:
	default:
	}
}

// probeOK records that this node's probe of name was answered.
func (v *view) probeOK(name string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if e, ok := v.members[name]; ok && e.Status == StatusSuspect {
		v.setStatusLocked(e, upStatus(e.draining), v.clock.Now())
	}
}

// tick lapses expired suspicions and reaps dead and left members older
// than reapTime. It never reaps this node itself.
func (v *view) tick() {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.clock.Now()
	for name, e := range v.members {
		switch {
		case e.Status == StatusSuspect && !now.Before(e.suspectUntil):
			v.logger.Debug("suspicion lapsed without a death verdict", "member", name)
			v.setStatusLocked(e, upStatus(e.draining), now)
		case (e.Status == StatusDead || e.Status == StatusLeft) && name != v.self && now.Sub(e.Since) >= v.reapTime:
			delete(v.members, name)
			v.emitLocked(now, Event{Type: EventReap, Member: e.copy()})
		}
	}
}

// setSelfDraining shows this node's own draining mark at once, before
// memberlist's update of its own node comes back through NotifyUpdate.
func (v *view) setSelfDraining(draining bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.members[v.self]
	if !ok {
		return
	}
	e.draining = draining
	if up := upStatus(draining); e.Status.up() && e.Status != up {
		v.setStatusLocked(e, up, v.clock.Now())
	}
}

// nextRecheck returns the suspected member pinged again least recently.
func (v *view) nextRecheck() (Member, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	var pick *entry
	for _, e := range v.members {
		if e.Status == StatusSuspect && (pick == nil || e.recheckedAt.Before(pick.recheckedAt)) {
			pick = e
		}
	}
	if pick == nil {
		return Member{}, false
	}
	return pick.copy(), true
}

// rechecked records that name was just pinged again.
func (v *view) rechecked(name string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if e, ok := v.members[name]; ok {
		e.recheckedAt = v.clock.Now()
	}
}

// nextDeadline returns when tick next has something to do: the earliest
// suspicion lapse or reap. ok is false when there is none.
func (v *view) nextDeadline() (at time.Time, ok bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for name, e := range v.members {
		var d time.Time
		switch {
		case e.Status == StatusSuspect:
			d = e.suspectUntil
		case (e.Status == StatusDead || e.Status == StatusLeft) && name != v.self:
			d = e.Since.Add(v.reapTime)
		default:
			continue
		}
		if !ok || d.Before(at) {
			at, ok = d, true
		}
	}
	return at, ok
}

// snapshot returns every member, sorted by name.
func (v *view) snapshot() []Member {
	v.mu.Lock()
	out := make([]Member, 0, len(v.members))
	for _, e := range v.members {
		out = append(out, e.copy())
	}
	v.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// member returns one member by name.
func (v *view) member(name string) (Member, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.members[name]
	if !ok {
		return Member{}, false
	}
	return e.copy(), true
}

// count returns how many members have each status.
func (v *view) count() map[Status]int {
	v.mu.Lock()
	defer v.mu.Unlock()
	c := map[Status]int{}
	for _, e := range v.members {
		c[e.Status]++
	}
	return c
}

// numLearned returns how many members have been added to the view so far
// (reaped ones included): it grows whenever this node hears of a member it
// did not know.
func (v *view) numLearned() uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.learned
}

// randomAlive returns one alive member other than this node, at random.
func (v *view) randomAlive() (Member, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	var pick *entry
	n := 0
	for name, e := range v.members {
		if name == v.self || e.Status != StatusAlive {
			continue
		}
		// Reservoir sampling: one pass, no slice.
		n++
		if rand.IntN(n) == 0 {
			pick = e
		}
	}
	if pick == nil {
		return Member{}, false
	}
	return pick.copy(), true
}

// changedAt returns when the view last changed.
func (v *view) changedAt() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.lastChange
}

// deadWithin returns the members that died (not left) less than d ago.
func (v *view) deadWithin(d time.Duration) []Member {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.clock.Now()
	var out []Member
	for name, e := range v.members {
		if e.Status == StatusDead && name != v.self && now.Sub(e.Since) < d {
			out = append(out, e.copy())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (v *view) decode(n *memberlist.Node) (map[string]string, byte) {
	tags, flags, err := decodeMeta(n.Meta)
	if err != nil {
		v.logger.Warn("member has unreadable tags; showing it without tags", "member", n.Name, "error", err)
		return nil, 0
	}
	return tags, flags
}

func (v *view) addLocked(n *memberlist.Node, tags map[string]string, s Status, now time.Time) *entry {
	e := &entry{Member: Member{Name: n.Name, Status: s, Since: now}}
	e.setNode(n, tags)
	v.members[n.Name] = e
	v.learned++
	return e
}

func (v *view) setStatusLocked(e *entry, s Status, now time.Time) {
	prev := e.Status
	e.Status = s
	e.Since = now
	v.emitLocked(now, Event{Type: EventStatus, Member: e.copy(), Prev: prev})
	if !s.up() || s == StatusSuspect {
		v.wakeLocked()
	}
}

// wakeLocked tells the maintenance loop a deadline may have moved.
func (v *view) wakeLocked() {
	select {
	case v.wake <- struct{}{}:
	default:
	}
}

func (v *view) emitLocked(now time.Time, ev Event) {
	v.lastChange = now
	v.index++
	ev.Index = v.index
	if v.changed != nil {
		close(v.changed)
		v.changed = nil
	}
	v.hub.publish(ev)
}

// currentIndex returns the view's index.
func (v *view) currentIndex() uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.index
}

// waitIndex returns the view's index once it differs from after (it has
// passed after, or after is from another run of the agent and lies ahead),
// or when ctx ends, whichever is first.
func (v *view) waitIndex(ctx context.Context, after uint64) uint64 {
	for {
		v.mu.Lock()
		if v.index != after {
			i := v.index
			v.mu.Unlock()
			return i
		}
		if v.changed == nil {
			v.changed = make(chan struct{})
		}
		ch := v.changed
		v.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return v.currentIndex()
		}
	}
}

func (v *view) numLiveLocked() int {
	n := 0
	for _, e := range v.members {
		if e.Status.up() {
			n++
		}
	}
	return n
}

// setNode copies address and tags from n and reports whether they changed.
func (e *entry) setNode(n *memberlist.Node, tags map[string]string) bool {
	addr := n.Addr.String()
	port := int(n.Port)
	changed := e.Addr != addr || e.Port != port || !maps.Equal(e.Tags, tags)
	e.Addr, e.Port, e.Tags = addr, port, tags
	return changed
}

func (e *entry) copy() Member {
	m := e.Member
	m.Tags = maps.Clone(e.Tags)
	return m
}
