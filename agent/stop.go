package agent

import (
	"context"
	"time"

	"github.com/hashicorp/go-hclog"
)

// stopSequence runs the agent's stop steps one after the other within a
// total budget: each step may take its share of the budget (never past the
// end of it), runs in its own goroutine, and is left behind with a
// warning when it overruns, so that one hung step holds up neither the
// steps after it nor the exit.
type stopSequence struct {
	total    time.Duration
	start    time.Time
	deadline time.Time
	logger   hclog.Logger
}

func newStopSequence(total time.Duration, logger hclog.Logger) *stopSequence {
	now := time.Now()
	return &stopSequence{total: total, start: now, deadline: now.Add(total), logger: logger}
}

// step runs stop with at most share of the total budget.
func (s *stopSequence) step(name string, share float64, stop func(ctx context.Context) error) {
	budget := min(time.Duration(float64(s.total)*share), time.Until(s.deadline))
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- stop(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			s.logger.Warn("shutdown step did not finish cleanly", "step", name, "error", err)
		}
	case <-ctx.Done():
		s.logger.Warn("shutdown step overran its share of leave_timeout; going on without it", "step", name, "budget", budget)
	}
}

// took is how long the steps so far took.
func (s *stopSequence) took() time.Duration { return time.Since(s.start) }

// remaining is the time left before ctx's deadline (0 without one).
func remaining(ctx context.Context) time.Duration {
	d, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	return max(time.Until(d), 0)
}
