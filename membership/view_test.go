package membership

import (
	"net"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"
	"github.com/jonboulle/clockwork"
)

const testTTL = 10 * time.Second

type viewFixture struct {
	t     *testing.T
	clock *clockwork.FakeClock
	v     *view
	ch    <-chan Event
}

func newViewFixture(t *testing.T, reap time.Duration) *viewFixture {
	clock := clockwork.NewFakeClock()
	h := newHub()
	v := newView("self", clock, hclog.NewNullLogger(), h, reap, func(int) time.Duration { return testTTL })
	ch, cancel := h.subscribe(64)
	t.Cleanup(cancel)
	return &viewFixture{t: t, clock: clock, v: v, ch: ch}
}

func node(t *testing.T, name string, tags map[string]string, flags byte) *memberlist.Node {
	t.Helper()
	meta, err := encodeMeta(tags, flags)
	if err != nil {
		t.Fatal(err)
	}
	return &memberlist.Node{Name: name, Addr: net.IPv4(10, 0, 0, 1), Port: 7946, Meta: meta}
}

// next returns the next event, failing if there is none.
func (f *viewFixture) next() Event {
	f.t.Helper()
	select {
	case ev := <-f.ch:
		return ev
	default:
		f.t.Fatal("expected an event, got none")
		return Event{}
	}
}

func (f *viewFixture) none() {
	f.t.Helper()
	select {
	case ev := <-f.ch:
		f.t.Fatalf("unexpected event %+v", ev)
	default:
	}
}

func (f *viewFixture) status(name string) (Status, time.Time) {
	m, ok := f.v.member(name)
	if !ok {
		return "", time.Time{}
	}
	return m.Status, m.Since
}

func TestViewJoinUpdateLeave(t *testing.T) {
	f := newViewFixture(t, time.Hour)
	t0 := f.clock.Now()
	f.v.observeAlive(node(t, "a", map[string]string{"role": "db"}, 0))
	ev := f.next()
	if ev.Type != EventJoin || ev.Member.Status != StatusAlive || ev.Member.Tags["role"] != "db" || ev.Member.Addr != "10.0.0.1" || ev.Member.Port != 7946 {
		t.Fatalf("join event = %+v", ev)
	}
	if s, since := f.status("a"); s != StatusAlive || !since.Equal(t0) {
		t.Errorf("a = %s since %v, want alive since %v", s, since, t0)
	}

	f.clock.Advance(time.Minute)
	f.v.observeAlive(node(t, "a", map[string]string{"role": "web"}, 0))
	if ev := f.next(); ev.Type != EventUpdate || ev.Member.Tags["role"] != "web" {
		t.Fatalf("update event = %+v", ev)
	}
	if _, since := f.status("a"); !since.Equal(t0) {
		t.Errorf("a tag update moved Since to %v", since)
	}
	if !f.v.changedAt().Equal(t0.Add(time.Minute)) {
		t.Errorf("LastChange = %v, want the update time", f.v.changedAt())
	}
	f.v.observeAlive(node(t, "a", map[string]string{"role": "web"}, 0))
	f.none() // same data: nothing changed

	f.clock.Advance(time.Minute)
	f.v.observeLeave(node(t, "a", map[string]string{"role": "web"}, 0))
	ev = f.next()
	if ev.Type != EventStatus || ev.Member.Status != StatusDead || ev.Prev != StatusAlive {
		t.Fatalf("leave without the leaving flag = %+v, want alive -> dead", ev)
	}
	if _, since := f.status("a"); !since.Equal(t0.Add(2 * time.Minute)) {
		t.Errorf("dead Since = %v", since)
	}

	f.v.observeAlive(node(t, "a", map[string]string{"role": "web"}, 0))
	if ev := f.next(); ev.Type != EventStatus || ev.Member.Status != StatusAlive || ev.Prev != StatusDead {
		t.Fatalf("rejoin = %+v, want dead -> alive", ev)
	}
}

func TestViewLeavingFlagMeansLeft(t *testing.T) {
	f := newViewFixture(t, time.Hour)
	tags := map[string]string{"role": "db"}
	f.v.observeAlive(node(t, "a", tags, 0))
	f.next()
	f.v.observeAlive(node(t, "a", tags, metaLeaving))
	f.none() // the flag alone is not a visible change
	f.v.observeLeave(node(t, "a", tags, metaLeaving))
	if ev := f.next(); ev.Member.Status != StatusLeft || ev.Prev != StatusAlive {
		t.Fatalf("leave with the flag = %+v, want alive -> left", ev)
	}
	// A leave for a member never seen alive still shows up.
	f.v.observeLeave(node(t, "b", nil, 0))
	if ev := f.next(); ev.Type != EventStatus || ev.Member.Status != StatusDead {
		t.Fatalf("unknown member leave = %+v", ev)
	}
	if got := f.v.deadWithin(time.Hour); len(got) != 1 || got[0].Name != "b" {
		t.Errorf("deadWithin = %v, want only b (a left, it did not die)", got)
	}
	f.clock.Advance(2 * time.Hour)
	if got := f.v.deadWithin(time.Hour); len(got) != 0 {
		t.Errorf("deadWithin after the timeout = %v", got)
	}
}

func TestViewSuspect(t *testing.T) {
	f := newViewFixture(t, time.Hour)
	f.v.observeAlive(node(t, "self", nil, 0))
	f.v.observeAlive(node(t, "a", nil, 0))
	f.next()
	f.next()

	f.v.suspect("self")
	f.v.suspect("nobody")
	f.none()

	f.v.suspect("a")
	if ev := f.next(); ev.Member.Status != StatusSuspect || ev.Prev != StatusAlive {
		t.Fatalf("suspect = %+v", ev)
	}
	f.v.probeOK("a")
	if ev := f.next(); ev.Member.Status != StatusAlive || ev.Prev != StatusSuspect {
		t.Fatalf("probe ok = %+v, want suspect -> alive", ev)
	}

	f.v.suspect("a")
	f.next()
	f.clock.Advance(testTTL - time.Second)
	f.v.tick()
	f.none()
	f.v.suspect("a") // a second failed probe extends the suspicion
	f.clock.Advance(testTTL - time.Second)
	f.v.tick()
	f.none()
	f.clock.Advance(time.Second)
	f.v.tick()
	if ev := f.next(); ev.Member.Status != StatusAlive || ev.Prev != StatusSuspect {
		t.Fatalf("lapse = %+v, want suspect -> alive", ev)
	}

	f.v.suspect("a")
	f.next()
	f.v.observeLeave(node(t, "a", nil, 0))
	if ev := f.next(); ev.Member.Status != StatusDead || ev.Prev != StatusSuspect {
		t.Fatalf("death = %+v, want suspect -> dead", ev)
	}
	f.v.suspect("a")
	f.v.probeOK("a")
	f.none() // no suspicion of, or recovery from, the dead
}

func TestViewReap(t *testing.T) {
	const reap = 10 * time.Minute
	f := newViewFixture(t, reap)
	f.v.observeAlive(node(t, "self", nil, 0))
	f.v.observeAlive(node(t, "a", nil, 0))
	f.v.observeAlive(node(t, "b", nil, 0))
	f.v.observeAlive(node(t, "c", nil, 0))
	for range 4 {
		f.next()
	}
	f.v.observeLeave(node(t, "a", nil, 0))
	f.v.observeLeave(node(t, "self", nil, metaLeaving))
	f.clock.Advance(reap / 2)
	f.v.observeLeave(node(t, "b", nil, metaLeaving))
	for range 3 {
		f.next()
	}

	f.clock.Advance(reap/2 - time.Second)
	f.v.tick()
	f.none()
	f.clock.Advance(time.Second)
	f.v.tick()
	if ev := f.next(); ev.Type != EventReap || ev.Member.Name != "a" || ev.Member.Status != StatusDead {
		t.Fatalf("reap = %+v, want a reaped", ev)
	}
	f.none()
	f.clock.Advance(reap / 2)
	f.v.tick()
	if ev := f.next(); ev.Type != EventReap || ev.Member.Name != "b" {
		t.Fatalf("reap = %+v, want b reaped", ev)
	}
	names := []string{}
	for _, m := range f.v.snapshot() {
		names = append(names, m.Name)
	}
	if len(names) != 2 || names[0] != "c" || names[1] != "self" {
		t.Errorf("after reaping: %v, want [c self] (never reap self)", names)
	}
	if c := f.v.count(); c[StatusAlive] != 1 || c[StatusLeft] != 1 {
		t.Errorf("count = %v", c)
	}
}

func TestViewCopiesTags(t *testing.T) {
	f := newViewFixture(t, time.Hour)
	f.v.observeAlive(node(t, "a", map[string]string{"role": "db"}, 0))
	m := f.v.snapshot()[0]
	m.Tags["role"] = "mutated"
	if got, _ := f.v.member("a"); got.Tags["role"] != "db" {
		t.Errorf("a caller's change leaked into the view: %v", got.Tags)
	}
}

func TestViewKeepsMemberWithBadMeta(t *testing.T) {
	f := newViewFixture(t, time.Hour)
	f.v.observeAlive(&memberlist.Node{Name: "odd", Addr: net.IPv4(10, 0, 0, 9), Port: 1, Meta: []byte{42, 0}})
	if ev := f.next(); ev.Type != EventJoin || ev.Member.Tags != nil {
		t.Fatalf("bad meta join = %+v, want a join without tags", ev)
	}
}
