package localapitest

import (
	"context"
	"sync"

	"github.com/farmhand/farmhand/agent/localapi"
	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/membership"
	"github.com/jonboulle/clockwork"
)

// Backend is an in-memory localapi.Backend. Its Status reports the member
// counts of its view and the time of the last SetMembers as LastChange.
// It is safe for concurrent use.
type Backend struct {
	clock clockwork.Clock

	mu      sync.Mutex
	status  localapi.Status
	members []membership.Member
	err     error
	block   chan struct{}
	waiting int
	leaveTo string
	leaves  int
	reloads int
	bucket  *bootstrap.BucketStatus
	// index counts SetMembers calls (from 1); changed is closed by the
	// next one.
	index   uint64
	changed chan struct{}
}

// NewBackend returns a Backend describing st with the view ms; the clock
// stamps LastChange.
func NewBackend(clock clockwork.Clock, st localapi.Status, ms ...membership.Member) *Backend {
	b := &Backend{clock: clock, status: st, leaveTo: localapi.StateLeft, changed: make(chan struct{})}
	b.SetMembers(ms...)
	return b
}

// SetMembers replaces the view and sets LastChange to now.
func (b *Backend) SetMembers(ms ...membership.Member) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.members = append([]membership.Member(nil), ms...)
	b.status.LastChange = b.clock.Now()
	b.index++
	close(b.changed)
	b.changed = make(chan struct{})
}

// Index implements localapi.Watcher: the number of SetMembers calls.
func (b *Backend) Index() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.index
}

// WaitIndex implements localapi.Watcher.
func (b *Backend) WaitIndex(ctx context.Context, after uint64) uint64 {
	for {
		b.mu.Lock()
		i, ch := b.index, b.changed
		b.waiting++
		b.mu.Unlock()
		if i != after {
			b.setWaiting(-1)
			return i
		}
		select {
		case <-ch:
			b.setWaiting(-1)
		case <-ctx.Done():
			b.setWaiting(-1)
			return b.Index()
		}
	}
}

// FailWith makes every method return err (nil restores normal answers).
func (b *Backend) FailWith(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.err = err
}

// Block makes every call wait until the returned release function is
// called or the call's context ends.
func (b *Backend) Block() (release func()) {
	ch := make(chan struct{})
	b.mu.Lock()
	b.block = ch
	b.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			b.block = nil
			b.mu.Unlock()
			close(ch)
		})
	}
}

// Leaves is how many times Leave succeeded.
func (b *Backend) Leaves() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.leaves
}

// Reloads is how many times Reload succeeded.
func (b *Backend) Reloads() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reloads
}

// Waiting is how many calls are held by Block or waiting in WaitIndex
// right now.
func (b *Backend) Waiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.waiting
}

func (b *Backend) setWaiting(d int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.waiting += d
}

// enter waits out a Block and returns the configured failure.
func (b *Backend) enter(ctx context.Context) error {
	b.mu.Lock()
	ch := b.block
	b.mu.Unlock()
	if ch != nil {
		b.setWaiting(+1)
		defer b.setWaiting(-1)
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// Status implements localapi.Backend.
func (b *Backend) Status(ctx context.Context) (localapi.Status, error) {
	if err := b.enter(ctx); err != nil {
		return localapi.Status{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.status
	st.Counts = map[string]int{}
	for _, m := range b.members {
		st.Counts[string(m.Status)]++
	}
	return st, nil
}

// Members implements localapi.Backend.
func (b *Backend) Members(ctx context.Context) ([]membership.Member, error) {
	if err := b.enter(ctx); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]membership.Member(nil), b.members...), nil
}

// LeaveTo sets the state Leave puts the node in: localapi.StateLeft (the
// default, a leave finished before Leave returns) or localapi.StateLeaving
// (a leave Leave only started).
func (b *Backend) LeaveTo(state string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.leaveTo = state
}

// Leave implements localapi.Backend; it moves the node to the LeaveTo state.
func (b *Backend) Leave(ctx context.Context) error {
	if err := b.enter(ctx); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.leaves++
	b.status.State = b.leaveTo
	return nil
}

// Reload implements localapi.Backend.
func (b *Backend) Reload(ctx context.Context) (localapi.ReloadResponse, error) {
	if err := b.enter(ctx); err != nil {
		return localapi.ReloadResponse{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reloads++
	return localapi.ReloadResponse{Message: "configuration reloaded: nothing changed"}, nil
}

// SetBucket sets the answer of CheckBucket; until it is called the bucket
// answers.
func (b *Backend) SetBucket(st bootstrap.BucketStatus) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.bucket = &st
}

// CheckBucket returns what SetBucket set, or an answering bucket "test".
func (b *Backend) CheckBucket(ctx context.Context) (bootstrap.BucketStatus, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return bootstrap.BucketStatus{}, b.err
	}
	if b.bucket == nil {
		return bootstrap.BucketStatus{Bucket: "test", OK: true, Checked: b.clock.Now()}, nil
	}
	return *b.bucket, nil
}
