package ec2emu

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"time"
)

// verb is one of the state-changing actions a user has.
type verb int

const (
	verbStop verb = iota
	verbStart
	verbTerminate
	verbReboot
)

// action is the API action of v.
func (v verb) action() string {
	return [...]string{"StopInstances", "StartInstances", "TerminateInstances", "RebootInstances"}[v]
}

// participle completes EC2's "not in a state from which it can be ..."
func (v verb) participle() string {
	return [...]string{"stopped", "started", "terminated", "rebooted"}[v]
}

// reason is why an instance changed state, as EC2 reports it: StateReason
// ("Code: Message") and StateTransitionReason.
type reason struct{ state, transition string }

// gmt is EC2's time format in StateTransitionReason.
func gmt(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") + " GMT" }

// userReason is the reason of a stop or termination through the API.
func userReason(now time.Time) reason {
	return reason{"Client.UserInitiatedShutdown: User initiated shutdown", "User initiated (" + gmt(now) + ")"}
}

// internalErrorReason is the reason of a boot that failed.
var internalErrorReason = reason{"Server.InternalError: Internal error on launch", "Server.InternalError: Internal error on launch"}

// terminateInstances implements TerminateInstances. Live instances go to
// shutting-down; OnTerminate then runs and they become terminated.
// Terminating a terminated instance is allowed and changes nothing.
func (s *Server) terminateInstances(requestID string, p params, _ principal) (any, *apiError) {
	return s.changeState(requestID, p, verbTerminate)
}

// stopInstances implements StopInstances (Force is accepted and makes no
// difference). Running instances go to stopping; OnStop then runs and they
// become stopped, keeping their id, address and everything else. Stopping
// a stopping or stopped instance changes nothing.
func (s *Server) stopInstances(requestID string, p params, _ principal) (any, *apiError) {
	if _, aerr := p.boolean("Force"); aerr != nil {
		return nil, aerr
	}
	return s.changeState(requestID, p, verbStop)
}

// startInstances implements StartInstances. Stopped instances go to
// pending, boot again after the boot delay (OnStart) and become running.
// Starting a pending or running instance changes nothing.
func (s *Server) startInstances(requestID string, p params, _ principal) (any, *apiError) {
	return s.changeState(requestID, p, verbStart)
}

// rebootInstances implements RebootInstances: OnReboot runs for each
// instance, which stays running throughout, as on EC2.
func (s *Server) rebootInstances(requestID string, p params, _ principal) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ins, aerr := s.actionableLocked(p, verbReboot)
	if aerr != nil {
		return nil, aerr
	}
	for _, in := range ins {
		s.rebootLocked(in)
	}
	return xmlReturnResponse{XMLName: xml.Name{Local: "RebootInstancesResponse"}, Xmlns: namespace,
		RequestID: requestID, Return: true}, nil
}

func (s *Server) changeState(requestID string, p params, v verb) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ins, aerr := s.actionableLocked(p, v)
	if aerr != nil {
		return nil, aerr
	}

	name := v.action()[:len(v.action())-len("Instances")] + "InstancesResponse"
	out := xmlStateChangeResponse{XMLName: xml.Name{Local: name}, Xmlns: namespace, RequestID: requestID}
	for _, in := range ins {
		prev := s.transitionLocked(in, v, userReason(s.clock.Now()))
		out.Changes = append(out.Changes, xmlStateChange{
			InstanceID:    in.ID,
			CurrentState:  stateXML(in.State),
			PreviousState: stateXML(prev),
		})
	}
	return out, nil
}

// actionableLocked resolves the request's InstanceId.N, checks that v may
// act on every one of them (one that may not fails the whole call, as on
// EC2), then answers DryRun.
func (s *Server) actionableLocked(p params, v verb) ([]*instance, *apiError) {
	ids := p.list("InstanceId")
	if len(ids) == 0 {
		return nil, errMissingParameter("InstanceId")
	}
	ins, aerr := s.lookupLocked(ids)
	if aerr != nil {
		return nil, aerr
	}
	for _, in := range ins {
		if aerr := s.allowedLocked(in, v, p); aerr != nil {
			return nil, aerr
		}
	}
	return ins, dryRun(p)
}

// allowedLocked answers EC2's error when v cannot act on in now; p is the
// request (nil from the Go methods).
func (s *Server) allowedLocked(in *instance, v verb, p params) *apiError {
	switch v {
	case verbStop:
		if hibernate, aerr := p.boolean("Hibernate"); aerr != nil {
			return aerr
		} else if hibernate {
			return &apiError{http.StatusBadRequest, "UnsupportedHibernationConfiguration",
				fmt.Sprintf("The instance '%s' does not have hibernation enabled.", in.ID)}
		}
		switch in.State {
		case StatePending:
			if !in.booted {
				return &apiError{http.StatusBadRequest, "IncorrectInstanceState",
					fmt.Sprintf("Instance '%s' cannot be stopped as it has never reached the 'running' state.", in.ID)}
			}
			return errIncorrectState(in.ID, v.participle())
		case StateShuttingDown, StateTerminated:
			return errIncorrectState(in.ID, v.participle())
		}
		if in.InstanceLifecycle == lifecycleSpot && in.SpotInstanceType != spotPersistent {
			return errSpotStop(in.ID)
		}
	case verbStart:
		switch in.State {
		case StateStopping, StateShuttingDown, StateTerminated:
			return errIncorrectState(in.ID, v.participle())
		}
	case verbReboot:
		if in.State != StateRunning {
			return errIncorrectState(in.ID, v.participle())
		}
	}
	return nil
}

// transitionLocked starts v on in, if its state calls for a change, and
// returns the state it had. A goroutine finishes the change (running the
// hook) and closes in.settled.
func (s *Server) transitionLocked(in *instance, v verb, why reason) State {
	prev := in.State
	switch {
	case v == verbStart && prev == StateStopped:
		s.startLocked(in)
		return prev
	case v == verbTerminate && prev != StateShuttingDown && prev != StateTerminated:
		in.State = StateShuttingDown
	case v == verbStop && prev == StateRunning:
		in.State = StateStopping
	default:
		return prev
	}
	in.StateReason, in.StateTransitionReason = why.state, why.transition
	done := make(chan struct{})
	in.settled = done
	if !s.goLocked(func() { s.finish(in, v == verbTerminate, done) }) {
		close(done) // closed emulator: the transition stays where it is
	}
	return prev
}

// startLocked takes a stopped instance to pending and boots it again.
// Start moves the instance to a new host, as on EC2: its status checks are
// fresh and its LaunchTime is the time of the start.
func (s *Server) startLocked(in *instance) {
	in.State = StatePending
	in.StateReason, in.StateTransitionReason = "", ""
	in.LaunchTime = s.clock.Now()
	in.Impaired = false
	// A new run of the instance: the notices of the last one are gone.
	in.SpotAction, in.SpotActionTime, in.RebalanceTime = "", time.Time{}, time.Time{}
	s.bootLocked(in)
}

// rebootLocked reboots a running instance: OnReboot runs, the state stays
// running. A reboot clears an impaired status check, as it often does.
func (s *Server) rebootLocked(in *instance) {
	in.Impaired = false
	done := make(chan struct{})
	in.settled = done
	if !s.goLocked(func() { s.reboot(in, done) }) {
		close(done)
	}
}

// StopInstance stops id as StopInstances does (OnStop runs) and waits until
// it is stopped or ctx ends. Stopping a stopped instance returns at once.
func (s *Server) StopInstance(ctx context.Context, id string) error {
	return s.settle(ctx, id, verbStop)
}

// StartInstance starts id as StartInstances does (the boot delay, then
// OnStart) and waits until it has booted (running, or stopped again if
// OnStart failed) or ctx ends.
func (s *Server) StartInstance(ctx context.Context, id string) error {
	return s.settle(ctx, id, verbStart)
}

// RebootInstance reboots id as RebootInstances does and waits until
// OnReboot has returned or ctx ends.
func (s *Server) RebootInstance(ctx context.Context, id string) error {
	return s.settle(ctx, id, verbReboot)
}

// TerminateInstance terminates id as TerminateInstances does (OnTerminate
// runs) and waits until it is terminated or ctx ends.
func (s *Server) TerminateInstance(ctx context.Context, id string) error {
	return s.settle(ctx, id, verbTerminate)
}

// settle carries out v on id as the API would, then waits for the change
// (or the latest one under way) to finish.
func (s *Server) settle(ctx context.Context, id string, v verb) error {
	name := v.action()[:len(v.action())-1] // StopInstance, ...
	s.reap()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("ec2emu: %s %s: the emulator is closed", name, id)
	}
	ins, aerr := s.lookupLocked([]string{id})
	if aerr == nil {
		aerr = s.allowedLocked(ins[0], v, nil)
	}
	if aerr != nil {
		s.mu.Unlock()
		return fmt.Errorf("ec2emu: %s: %s (%s)", name, aerr.message, aerr.code)
	}
	if v == verbReboot {
		s.rebootLocked(ins[0])
	} else {
		s.transitionLocked(ins[0], v, userReason(s.clock.Now()))
	}
	done := ins[0].settled
	s.mu.Unlock()
	if done == nil {
		return nil // nothing was ever under way
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ec2emu: %s %s: %w", name, id, ctx.Err())
	}
}
