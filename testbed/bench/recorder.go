package main

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// state is a member's status in one observer's view.
type state uint8

const (
	stUnknown state = iota
	stAlive
	stSuspect
	stDead
	stLeft
)

// inView reports whether a member in state s counts as present in a view
// (memberlist lists suspect members too).
func (s state) inView() bool { return s == stAlive || s == stSuspect }

// verdict is one observer's dead verdict about one subject.
type verdict struct {
	observer, subject string
	at                time.Time
}

// recorder collects every node's view changes as they happen, with their
// times, so measurements use event times rather than polling times.
type recorder struct {
	mu    sync.Mutex
	views map[string]map[string]state // observer -> subject -> state

	// expected is the set every view should hold; inE counts, per
	// observer, the expected subjects it has in view; completeAt is when
	// an observer's view first held all of expected, seenAt when a subject
	// was first in view of every expected observer.
	expected   map[string]bool
	inE        map[string]int
	completeAt map[string]time.Time
	seenBy     map[string]int
	seenAt     map[string]time.Time

	failed     map[string]bool // subjects really crashed or stopped
	dead       []verdict       // every dead verdict, in order
	falseDead  int             // dead verdicts about members not failed
	suspects   int             // suspect verdicts reported by observers
	falseSusp  int             // of those, about members not failed
	reportsSus bool            // whether any observer reports suspicion
}

func newRecorder() *recorder {
	return &recorder{
		views:      map[string]map[string]state{},
		expected:   map[string]bool{},
		inE:        map[string]int{},
		completeAt: map[string]time.Time{},
		seenBy:     map[string]int{},
		seenAt:     map[string]time.Time{},
		failed:     map[string]bool{},
	}
}

// observe records that observer now sees subject in state st, at t.
func (r *recorder) observe(observer, subject string, st state, t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v := r.views[observer]
	if v == nil {
		v = map[string]state{}
		r.views[observer] = v
	}
	prev := v[subject]
	if prev == st {
		return
	}
	v[subject] = st
	switch st {
	case stDead:
		r.dead = append(r.dead, verdict{observer, subject, t})
		if !r.failed[subject] {
			r.falseDead++
		}
	case stSuspect:
		r.reportsSus = true
		r.suspects++
		if !r.failed[subject] {
			r.falseSusp++
		}
	}
	if prev.inView() == st.inView() || !r.expected[subject] {
		return
	}
	if st.inView() {
		r.inE[observer]++
		if r.expected[observer] {
			r.seenBy[subject]++
			if r.seenBy[subject] == len(r.expected) {
				if _, ok := r.seenAt[subject]; !ok {
					r.seenAt[subject] = t
				}
			}
		}
	} else {
		r.inE[observer]--
		if r.expected[observer] {
			r.seenBy[subject]--
		}
	}
	if r.expected[observer] && r.inE[observer] == len(r.expected) {
		if _, ok := r.completeAt[observer]; !ok {
			r.completeAt[observer] = t
		}
	}
}

// expect sets the members every view should hold and forgets earlier
// completion times; views that already hold them all count as complete
// at now.
func (r *recorder) expect(names []string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expected = make(map[string]bool, len(names))
	for _, n := range names {
		r.expected[n] = true
	}
	r.inE = map[string]int{}
	r.seenBy = map[string]int{}
	r.completeAt = map[string]time.Time{}
	r.seenAt = map[string]time.Time{}
	for obs, v := range r.views {
		for subj, st := range v {
			if st.inView() && r.expected[subj] {
				r.inE[obs]++
				if r.expected[obs] {
					r.seenBy[subj]++
				}
			}
		}
	}
	for obs := range r.expected {
		if r.inE[obs] == len(r.expected) {
			r.completeAt[obs] = now
		}
	}
	for subj := range r.expected {
		if r.seenBy[subj] == len(r.expected) {
			r.seenAt[subj] = now
		}
	}
}

// markFailed records that subject really failed; dead verdicts about it
// are true from now on.
func (r *recorder) markFailed(subject string) {
	r.mu.Lock()
	r.failed[subject] = true
	r.mu.Unlock()
}

// complete returns how many expected observers have a full view, and the
// time the last of them got it (valid when all have).
func (r *recorder) complete() (int, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var last time.Time
	for _, t := range r.completeAt {
		if t.After(last) {
			last = t
		}
	}
	return len(r.completeAt), last
}

// completeOf returns when observer first had the full expected view.
func (r *recorder) completeOf(observer string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.completeAt[observer]
	return t, ok
}

// seenByAll returns when subject was first in view of every expected
// observer.
func (r *recorder) seenByAll(subject string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.seenAt[subject]
	return t, ok
}

// deadTimes returns, per expected observer, the time of its first dead
// verdict about subject, in arrival order.
func (r *recorder) deadTimes(subject string) []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []time.Time
	seen := map[string]bool{}
	for _, v := range r.dead {
		if v.subject == subject && r.expected[v.observer] && !seen[v.observer] {
			seen[v.observer] = true
			out = append(out, v.at)
		}
	}
	return out
}

// faults returns the false dead verdicts and the suspect verdicts (total,
// false) reported so far; suspect counts are meaningful only when
// reportsSuspect is true.
func (r *recorder) faults() (falseDead, suspects, falseSuspects int, reportsSuspect bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.falseDead, r.suspects, r.falseSusp, r.reportsSus
}

// incompleteWith describes up to limit expected observers whose view lacks
// expected members, naming a few of the missing ones, for diagnostics, with
// a note per observer. note runs after
// the recorder's lock is released: it may take a member's locks, and a
// member delivering an event holds its own lock while it waits for the
// recorder (a stock node's event delegate runs under memberlist's node
// lock), which deadlocked a non-converged run at N=500.
func (r *recorder) incompleteWith(limit int, note func(observer string) string) []string {
	var observers, lines []string
	r.mu.Lock()
	for obs := range r.expected {
		if _, ok := r.completeAt[obs]; ok {
			continue
		}
		var missing []string
		for subj := range r.expected {
			if !r.views[obs][subj].inView() {
				missing = append(missing, subj)
			}
		}
		if len(missing) > 3 {
			missing = append(missing[:3], fmt.Sprintf("and %d more", len(missing)-3))
		}
		observers = append(observers, obs)
		lines = append(lines, fmt.Sprintf("%s lacks %s", obs, strings.Join(missing, ", ")))
		if len(lines) == limit {
			break
		}
	}
	r.mu.Unlock()
	for i, obs := range observers {
		lines[i] += note(obs)
	}
	return lines
}

// viewSizes counts expected observers by how many expected members their
// view holds ("179 members see 179"): a split cluster shows two sizes.
func (r *recorder) viewSizes() map[int]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[int]int{}
	for obs := range r.expected {
		out[r.inE[obs]]++
	}
	return out
}
