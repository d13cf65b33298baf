package main

import (
	"testing"
	"time"
)

func TestRecorderCompletionAndVerdicts(t *testing.T) {
	r := newRecorder()
	t0 := time.Unix(1000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	r.expect([]string{"a", "b", "c"}, t0)
	for i, obs := range []string{"a", "b"} {
		for j, subj := range []string{"a", "b", "c"} {
			r.observe(obs, subj, stAlive, at(i*3+j))
		}
	}
	if done, _ := r.complete(); done != 2 {
		t.Fatalf("complete = %d, want 2 (c has not reported)", done)
	}
	if got, ok := r.completeOf("b"); !ok || !got.Equal(at(5)) {
		t.Fatalf("completeOf(b) = %v %v, want %v", got, ok, at(5))
	}
	if _, ok := r.seenByAll("a"); ok {
		t.Fatal("a counted as seen by all before c saw it")
	}
	r.observe("c", "a", stAlive, at(10))
	r.observe("c", "b", stSuspect, at(11)) // suspect still counts as in view
	r.observe("c", "c", stAlive, at(12))
	if got, ok := r.seenByAll("a"); !ok || !got.Equal(at(10)) {
		t.Fatalf("seenByAll(a) = %v %v, want %v", got, ok, at(10))
	}
	if done, last := r.complete(); done != 3 || !last.Equal(at(12)) {
		t.Fatalf("complete = %d at %v, want 3 at %v", done, last, at(12))
	}

	// A dead verdict about a live member is false; about a failed one, true.
	r.observe("a", "b", stDead, at(13))
	r.markFailed("c")
	r.observe("a", "c", stDead, at(14))
	r.observe("b", "c", stDead, at(15))
	r.observe("b", "c", stDead, at(16)) // repeated state: ignored
	r.observe("a", "c", stAlive, at(17))
	r.observe("a", "c", stDead, at(18)) // a flap: only a's first verdict counts
	falseDead, _, falseSusp, reports := r.faults()
	if falseDead != 1 || falseSusp != 1 || !reports {
		t.Fatalf("faults = %d false dead, %d false suspects, reports=%v; want 1, 1, true", falseDead, falseSusp, reports)
	}
	// Only expected observers' verdicts count towards detection.
	r.expect([]string{"a"}, at(20))
	if got := r.deadTimes("c"); len(got) != 1 || !got[0].Equal(at(14)) {
		t.Fatalf("deadTimes(c) from a only = %v, want [%v]", got, at(14))
	}
	// expect() credits views that are already complete at its own time.
	if got, ok := r.completeOf("a"); !ok || !got.Equal(at(20)) {
		t.Fatalf("completeOf(a) after expect = %v %v, want %v", got, ok, at(20))
	}
}
