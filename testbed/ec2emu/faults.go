package ec2emu

import (
	"net/http"
)

// faults are the failures a test has switched on; guarded by Server.mu.
type faults struct {
	// noCapacity holds the subnet ids and zone names where RunInstances
	// fails with InsufficientInstanceCapacity.
	noCapacity map[string]bool
	// internalError fails every request with HTTP 500 InternalError.
	internalError bool
	// loseRuns is how many more RunInstances calls are carried out but
	// answered with InternalError.
	loseRuns int
}

var (
	errInternal = &apiError{http.StatusInternalServerError, "InternalError",
		"An internal error has occurred."}
	errNoCapacity = &apiError{http.StatusInternalServerError, "InsufficientInstanceCapacity",
		"We currently do not have sufficient capacity in the Availability Zone you requested. Our system will be working on provisioning additional capacity. You can currently get capacity by not specifying an Availability Zone in your request or choosing a different Availability Zone."}
)

// SetCapacityError makes RunInstances into where (a subnet id, or a zone
// name for all its subnets) fail with InsufficientInstanceCapacity (HTTP
// 500, as EC2 sends it) while on. Nothing is launched and the ClientToken
// is not used up, as on EC2. A repeated token that already launched is
// still answered with its reservation.
func (s *Server) SetCapacityError(where string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.noCapacity == nil {
		s.faults.noCapacity = map[string]bool{}
	}
	if on {
		s.faults.noCapacity[where] = true
	} else {
		delete(s.faults.noCapacity, where)
	}
}

// noCapacityLocked returns InsufficientInstanceCapacity when sn or its
// zone is out of capacity.
func (s *Server) noCapacityLocked(sn Subnet) *apiError {
	if s.faults.noCapacity[sn.ID] || s.faults.noCapacity[sn.AvailabilityZone] {
		return errNoCapacity
	}
	return nil
}

// SetInternalError makes every request fail with HTTP 500 InternalError
// while on, before it does anything: an API that answers but cannot serve.
func (s *Server) SetInternalError(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.internalError = on
}

// LoseRunResponses makes the next n RunInstances calls that would succeed
// do their work (launch, or replay a known ClientToken) and then answer
// HTTP 500 InternalError: the instances exist but the caller does not learn
// it, as when EC2's answer is lost. n = 0 stops it.
func (s *Server) LoseRunResponses(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.loseRuns = max(0, n)
}

// loseRunLocked reports whether this successful RunInstances answer is to
// be replaced by InternalError, and counts it.
func (s *Server) loseRunLocked() bool {
	if s.faults.loseRuns == 0 {
		return false
	}
	s.faults.loseRuns--
	s.log.Info("RunInstances answer lost on purpose", "left", s.faults.loseRuns)
	return true
}

// SetDown takes the API off the network (down: the listener is closed, so
// clients get connection refused, and open connections are cut) or puts it
// back on the same address. Instances, launches and hooks carry on.
func (s *Server) SetDown(down bool) error { return s.http.SetDown(down) }
