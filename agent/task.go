package agent

import (
	"context"
	"fmt"
)

// task is one goroutine that a part owns: goTask starts it, stop ends it.
type task struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// goTask runs f in a new goroutine until stop cancels f's context.
func goTask(f func(ctx context.Context)) *task {
	ctx, cancel := context.WithCancel(context.Background())
	t := &task{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(t.done)
		f(ctx)
	}()
	return t
}

// stop cancels the task and waits until it has returned, at most until ctx
// ends. It is safe on a nil task and safe twice.
func (t *task) stop(ctx context.Context) error {
	if t == nil {
		return nil
	}
	t.cancel()
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("still running: %w", ctx.Err())
	}
}
