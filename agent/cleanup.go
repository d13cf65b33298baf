package agent

import (
	"context"
	"time"

	"github.com/hashicorp/go-hclog"
)

// cleanupStack undoes a start in reverse order. Run pushes a step for every
// component it starts, so a failed start and a normal shutdown stop exactly
// what was started, newest first.
type cleanupStack struct {
	steps []cleanupStep
}

type cleanupStep struct {
	name string
	stop func(context.Context) error
}

func (s *cleanupStack) push(name string, stop func(context.Context) error) {
	s.steps = append(s.steps, cleanupStep{name: name, stop: stop})
}

// run stops everything left on the stack with a default per-step timeout.
func (s *cleanupStack) run(logger hclog.Logger) { s.runWithin(logger, 2*time.Second) }

// runWithin stops everything left, giving each step at most perStep.
func (s *cleanupStack) runWithin(logger hclog.Logger, perStep time.Duration) {
	if perStep <= 0 {
		perStep = 500 * time.Millisecond
	}
	for len(s.steps) > 0 {
		st := s.steps[len(s.steps)-1]
		s.steps = s.steps[:len(s.steps)-1]
		ctx, cancel := context.WithTimeout(context.Background(), perStep)
		if err := st.stop(ctx); err != nil {
			logger.Warn("shutdown step did not finish cleanly", "step", st.name, "error", err)
		}
		cancel()
	}
}
