package render

import (
	"testing"
	"time"
)

func TestDueAt(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	s := func(min, max, stable time.Duration) Spec { return Spec{WaitMin: min, WaitMax: max, Stable: stable} }
	cases := []struct {
		name        string
		first, last time.Duration
		spec        Spec
		want        time.Duration
	}{
		{"no wait", 0, 0, s(0, 0, 0), 0},
		{"quiet after the last change", 0, 3 * time.Second, s(2*time.Second, time.Minute, 0), 5 * time.Second},
		{"capped by wait max", 0, 9 * time.Second, s(2*time.Second, 10*time.Second, 0), 10 * time.Second},
		{"stable beyond the debounce", 0, 3 * time.Second, s(time.Second, 4*time.Second, 5*time.Second), 8 * time.Second},
		{"stable beats wait max", 0, 9 * time.Second, s(2*time.Second, 10*time.Second, 5*time.Second), 14 * time.Second},
		{"debounce beyond stable", 0, 0, s(5*time.Second, 20*time.Second, time.Second), 5 * time.Second},
	}
	for _, c := range cases {
		got := dueAt(t0.Add(c.first), t0.Add(c.last), c.spec)
		if want := t0.Add(c.want); !got.Equal(want) {
			t.Errorf("%s: due %s, want %s", c.name, got.Sub(t0), c.want)
		}
	}
}
