package ec2emu

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Market values of Instance.InstanceLifecycle, SpotInstanceType and
// InterruptionBehavior, as EC2 spells them.
const (
	lifecycleSpot = "spot"

	spotOneTime    = "one-time"
	spotPersistent = "persistent"

	// SpotTerminate, SpotStop and SpotHibernate are the interruption
	// behaviours of a Spot Instance, and the actions of its interruption
	// notice.
	SpotTerminate = "terminate"
	SpotStop      = "stop"
	SpotHibernate = "hibernate"
)

// spotSpec is a RunInstances request's InstanceMarketOptions.
type spotSpec struct {
	requestType string // one-time or persistent
	behaviour   string // terminate, stop or hibernate
}

// parseMarket reads InstanceMarketOptions: nil for on-demand. As on EC2,
// a one-time request must terminate on interruption, and RunInstances
// takes a persistent one only when it stops or hibernates.
func parseMarket(p params) (*spotSpec, *apiError) {
	const base = "InstanceMarketOptions."
	market := p.str(base + "MarketType")
	if market == "" {
		for k := range p {
			if len(k) > len(base) && k[:len(base)] == base {
				return nil, errMissingParameter(base + "MarketType")
			}
		}
		return nil, nil
	}
	if market != lifecycleSpot {
		return nil, errInvalidParameterValue(base+"MarketType", market)
	}
	spec := &spotSpec{requestType: spotOneTime, behaviour: SpotTerminate}
	if v := p.str(base + "SpotOptions.SpotInstanceType"); v != "" {
		if v != spotOneTime && v != spotPersistent {
			return nil, errInvalidParameterValue(base+"SpotOptions.SpotInstanceType", v)
		}
		spec.requestType = v
	}
	if v := p.str(base + "SpotOptions.InstanceInterruptionBehavior"); v != "" {
		if v != SpotTerminate && v != SpotStop && v != SpotHibernate {
			return nil, errInvalidParameterValue(base+"SpotOptions.InstanceInterruptionBehavior", v)
		}
		spec.behaviour = v
	}
	if v := p.str(base + "SpotOptions.MaxPrice"); v != "" {
		if price, err := strconv.ParseFloat(v, 64); err != nil || price <= 0 {
			return nil, errInvalidParameterValue(base+"SpotOptions.MaxPrice", v)
		}
	}
	if v := p.str(base + "SpotOptions.ValidUntil"); v != "" {
		if _, err := time.Parse(time.RFC3339, v); err != nil {
			return nil, errInvalidParameterValue(base+"SpotOptions.ValidUntil", v)
		}
		if spec.requestType == spotOneTime {
			return nil, errInvalidParameterCombination("ValidUntil is supported only for persistent Spot Instance requests.")
		}
	}
	switch {
	case spec.requestType == spotOneTime && spec.behaviour != SpotTerminate:
		return nil, errInvalidParameterCombination(fmt.Sprintf(
			"The request with type 'one-time' is not supported when instanceInterruptionBehavior is set to '%s'.", spec.behaviour))
	case spec.requestType == spotPersistent && spec.behaviour == SpotTerminate:
		return nil, errInvalidParameterCombination(
			"For RunInstances, persistent Spot Instance requests are only supported when the instance interruption behavior is either hibernate or stop.")
	}
	return spec, nil
}

// newSpotRequestID returns an id of the shape "sir-" and 8 characters.
func newSpotRequestID() string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("ec2emu: crypto/rand failed: " + err.Error())
	}
	return "sir-" + hex.EncodeToString(b[:])
}

// spotReason is the reason of an interruption, as EC2 reports it.
func spotReason(terminate bool, now time.Time) reason {
	transition := "Service initiated (" + gmt(now) + ")"
	if terminate {
		return reason{"Server.SpotInstanceTermination: Spot instance termination", transition}
	}
	return reason{"Server.SpotInstanceShutdown: Spot instance shutdown", transition}
}

// Interrupt posts a Spot Instance interruption notice for id, as EC2 does
// two minutes before it reclaims the capacity: IMDS's spot/instance-action
// (Instance.SpotAction and SpotActionTime) says what happens when, and
// after notice the action is carried out (terminate, or stop for stop and
// hibernate) with EC2's Server.SpotInstance* reason, unless the instance
// has left running by then. action "" means the instance's interruption
// behaviour; another action than that is refused, as EC2 never takes one.
// It returns when the action falls due.
func (s *Server) Interrupt(id, action string, notice time.Duration) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, err := s.spotInstanceLocked(id, "Interrupt")
	if err != nil {
		return time.Time{}, err
	}
	if action == "" {
		action = in.InterruptionBehavior
	}
	switch {
	case action != SpotTerminate && action != SpotStop && action != SpotHibernate:
		return time.Time{}, fmt.Errorf("ec2emu: Interrupt %s: action %q: want %s, %s or %s", id, action, SpotTerminate, SpotStop, SpotHibernate)
	case action != in.InterruptionBehavior:
		return time.Time{}, fmt.Errorf("ec2emu: Interrupt %s: its interruption behavior is %s, so EC2 would %s it, not %s it (launch it with InstanceInterruptionBehavior %s and a persistent request)",
			id, in.InterruptionBehavior, in.InterruptionBehavior, action, action)
	case notice < 0:
		return time.Time{}, fmt.Errorf("ec2emu: Interrupt %s: notice %s is negative", id, notice)
	case in.SpotAction != "":
		return time.Time{}, fmt.Errorf("ec2emu: Interrupt %s: it already has a notice: %s at %s", id, in.SpotAction, in.SpotActionTime.UTC().Format(time.RFC3339))
	}
	due := s.clock.Now().Add(notice)
	in.SpotAction, in.SpotActionTime = action, due
	s.log.Info("spot interruption notice", "id", id, "action", action, "at", due.UTC().Format(time.RFC3339))
	s.afterLocked(notice, func() {
		if in.SpotAction != action || !in.SpotActionTime.Equal(due) || in.State != StateRunning {
			s.log.Info("spot interruption lapsed: the instance left running first", "id", id, "state", in.State)
			return
		}
		terminate := action == SpotTerminate
		v := verbStop
		if terminate {
			v = verbTerminate
		}
		s.transitionLocked(in, v, spotReason(terminate, s.clock.Now()))
		s.log.Info("spot instance interrupted", "id", id, "action", action)
	})
	return due, nil
}

// Rebalance posts a rebalance recommendation for id, as EC2 does when the
// Spot Instance is at elevated risk of interruption: IMDS's
// events/recommendations/rebalance answers from then on. Nothing else
// happens. It returns the notice time (the first one, if posted before).
func (s *Server) Rebalance(id string) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, err := s.spotInstanceLocked(id, "Rebalance")
	if err != nil {
		return time.Time{}, err
	}
	if in.RebalanceTime.IsZero() {
		in.RebalanceTime = s.clock.Now()
		s.log.Info("rebalance recommendation", "id", id)
	}
	return in.RebalanceTime, nil
}

// spotInstanceLocked returns id if it is a running Spot Instance.
func (s *Server) spotInstanceLocked(id, verb string) (*instance, error) {
	in := s.instances[id]
	switch {
	case in == nil:
		return nil, fmt.Errorf("ec2emu: %s: no instance %q", verb, id)
	case in.InstanceLifecycle != lifecycleSpot:
		return nil, fmt.Errorf("ec2emu: %s %s: not a Spot Instance (EC2 sends interruption notices and rebalance recommendations to Spot Instances only; launch with InstanceMarketOptions MarketType spot)", verb, id)
	case in.State != StateRunning:
		return nil, fmt.Errorf("ec2emu: %s %s: it is %s, not running", verb, id, in.State)
	}
	return in, nil
}

// errSpotStop is EC2's refusal to stop a one-time Spot Instance.
func errSpotStop(id string) *apiError {
	return &apiError{http.StatusBadRequest, "UnsupportedOperation",
		fmt.Sprintf("You can't stop the Spot Instance '%s' because it is associated with a one-time Spot Instance request. You can only stop Spot Instances associated with persistent Spot Instance requests.", id)}
}
