package ec2emu

import "encoding/xml"

// terminateInstances implements TerminateInstances. Live instances go to
// shutting-down; OnTerminate then runs and they become terminated.
// Terminating a terminated instance is allowed and changes nothing.
func (e *Emulator) terminateInstances(requestID string, p params) (any, *apiError) {
	return e.changeState(requestID, p, true)
}

// stopInstances implements StopInstances. Running instances go to
// stopping; OnStop then runs and they become stopped. Pending,
// shutting-down and terminated instances cannot be stopped.
func (e *Emulator) stopInstances(requestID string, p params) (any, *apiError) {
	return e.changeState(requestID, p, false)
}

func (e *Emulator) changeState(requestID string, p params, terminate bool) (any, *apiError) {
	ids := p.list("InstanceId")
	if len(ids) == 0 {
		return nil, errMissingParameter("InstanceId")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ins, aerr := e.lookupLocked(ids)
	if aerr != nil {
		return nil, aerr
	}
	if !terminate {
		for _, in := range ins {
			switch in.State {
			case StatePending, StateShuttingDown, StateTerminated:
				return nil, errIncorrectState(in.ID, "stopped")
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
		prev := in.State
		switch {
		case terminate && prev != StateShuttingDown && prev != StateTerminated:
			in.State = StateShuttingDown
			in.StateReason = "Client.UserInitiatedShutdown: User initiated shutdown"
			e.goLocked(func() { e.finish(in, true) })
		case !terminate && prev == StateRunning:
			in.State = StateStopping
			in.StateReason = "Client.UserInitiatedShutdown: User initiated shutdown"
			e.goLocked(func() { e.finish(in, false) })
		}
		out.Changes = append(out.Changes, xmlStateChange{
			InstanceID:    in.ID,
			CurrentState:  stateXML(in.State),
			PreviousState: stateXML(prev),
		})
	}
	return out, nil
}
