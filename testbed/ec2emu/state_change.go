package ec2emu

import (
	"context"
	"encoding/xml"
	"fmt"
)

// terminateInstances implements TerminateInstances. Live instances go to
// shutting-down; OnTerminate then runs and they become terminated.
// Terminating a terminated instance is allowed and changes nothing.
func (s *Server) terminateInstances(requestID string, p params) (any, *apiError) {
	return s.changeState(requestID, p, true)
}

// stopInstances implements StopInstances. Running instances go to
// stopping; OnStop then runs and they become stopped. Pending,
// shutting-down and terminated instances cannot be stopped.
func (s *Server) stopInstances(requestID string, p params) (any, *apiError) {
	return s.changeState(requestID, p, false)
}

func (s *Server) changeState(requestID string, p params, terminate bool) (any, *apiError) {
	ids := p.list("InstanceId")
	if len(ids) == 0 {
		return nil, errMissingParameter("InstanceId")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ins, aerr := s.lookupLocked(ids)
	if aerr != nil {
		return nil, aerr
	}
	if !terminate {
		for _, in := range ins {
			if aerr := checkStoppable(in); aerr != nil {
				return nil, aerr
			}
		}
	}
	if aerr := dryRun(p); aerr != nil {
		return nil, aerr
	}

	name := "StopInstancesResponse"
	if terminate {
		name = "TerminateInstancesResponse"
	}
	out := xmlStateChangeResponse{XMLName: xml.Name{Local: name}, Xmlns: namespace, RequestID: requestID}
	for _, in := range ins {
		prev := s.transitionLocked(in, terminate)
		out.Changes = append(out.Changes, xmlStateChange{
			InstanceID:    in.ID,
			CurrentState:  stateXML(in.State),
			PreviousState: stateXML(prev),
		})
	}
	return out, nil
}

// checkStoppable refuses to stop an instance that is not running (or
// already stopping or stopped), as EC2 does.
func checkStoppable(in *instance) *apiError {
	switch in.State {
	case StatePending, StateShuttingDown, StateTerminated:
		return errIncorrectState(in.ID, "stopped")
	}
	return nil
}

// transitionLocked starts stopping or terminating in, if its state allows,
// and returns the state it had. The goroutine that finishes the transition
// closes in.settled.
func (s *Server) transitionLocked(in *instance, terminate bool) State {
	prev := in.State
	var to State
	switch {
	case terminate && prev != StateShuttingDown && prev != StateTerminated:
		to = StateShuttingDown
	case !terminate && prev == StateRunning:
		to = StateStopping
	default:
		return prev
	}
	in.State = to
	in.StateReason = "Client.UserInitiatedShutdown: User initiated shutdown"
	done := make(chan struct{})
	in.settled = done
	if !s.goLocked(func() { s.finish(in, terminate, done) }) {
		close(done) // closed emulator: the transition stays where it is
	}
	return prev
}

// StopInstance stops id as StopInstances does (OnStop runs) and waits until
// it is stopped or ctx ends. Stopping a stopped instance returns at once.
func (s *Server) StopInstance(ctx context.Context, id string) error {
	return s.settle(ctx, id, false)
}

// TerminateInstance terminates id as TerminateInstances does (OnTerminate
// runs) and waits until it is terminated or ctx ends.
func (s *Server) TerminateInstance(ctx context.Context, id string) error {
	return s.settle(ctx, id, true)
}

func (s *Server) settle(ctx context.Context, id string, terminate bool) error {
	verb := "StopInstance"
	if terminate {
		verb = "TerminateInstance"
	}
	s.reap()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("ec2emu: %s %s: the emulator is closed", verb, id)
	}
	ins, aerr := s.lookupLocked([]string{id})
	if aerr == nil && !terminate {
		aerr = checkStoppable(ins[0])
	}
	if aerr != nil {
		s.mu.Unlock()
		return fmt.Errorf("ec2emu: %s: %s (%s)", verb, aerr.message, aerr.code)
	}
	s.transitionLocked(ins[0], terminate)
	done := ins[0].settled
	s.mu.Unlock()
	if done == nil {
		return nil // never stopped or terminated, nor asked to be: nothing to wait for
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ec2emu: %s %s: %w", verb, id, ctx.Err())
	}
}
