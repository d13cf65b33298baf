package membership

import "testing"

func TestHubDropsAndCountsWhenFull(t *testing.T) {
	h := newHub()
	slow, cancelSlow := h.subscribe(1)
	fast, cancelFast := h.subscribe(3)
	for i := range 3 {
		h.publish(Event{Type: EventJoin, Member: Member{Name: string(rune('a' + i))}})
	}
	if got := h.numDropped(); got != 2 {
		t.Errorf("dropped = %d, want 2 (the slow subscriber's overflow)", got)
	}
	if ev := <-slow; ev.Member.Name != "a" {
		t.Errorf("slow got %q first, want a", ev.Member.Name)
	}
	for _, want := range []string{"a", "b", "c"} {
		if ev := <-fast; ev.Member.Name != want {
			t.Errorf("fast got %q, want %q", ev.Member.Name, want)
		}
	}
	cancelSlow()
	cancelSlow() // idempotent
	if _, ok := <-slow; ok {
		t.Error("canceled subscription still open")
	}
	h.publish(Event{})
	h.close()
	<-fast
	if _, ok := <-fast; ok {
		t.Error("close left a subscription open")
	}
	cancelFast() // after close: no panic
	late, _ := h.subscribe(1)
	if _, ok := <-late; ok {
		t.Error("subscribe after close returned an open channel")
	}
}
