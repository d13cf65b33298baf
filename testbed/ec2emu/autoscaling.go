package ec2emu

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// TagAutoScalingGroup is the tag Auto Scaling puts on the instances of a
// group: the group owns them.
const TagAutoScalingGroup = "aws:autoscaling:groupName"

// DefaultAutoScalingAccessKeyID is the access key id DefaultConfig lets
// act as the Auto Scaling service.
const DefaultAutoScalingAccessKeyID = "ASIAAUTOSCALINGGROUP"

// Auto Scaling's target lifecycle states the emulator models (IMDS's
// autoscaling/target-lifecycle-state).
const (
	LifecycleInService  = "InService"
	LifecycleTerminated = "Terminated"
)

// principal is who signed a request: the access key id of its SigV4
// credential.
type principal string

var credentialPattern = regexp.MustCompile(`Credential=([^/,\s]+)/`)

// principalOf reads the access key id from the Authorization header or a
// presigned query.
func principalOf(r *http.Request) principal {
	if m := credentialPattern.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		return principal(m[1])
	}
	key, _, _ := strings.Cut(r.URL.Query().Get("X-Amz-Credential"), "/")
	return principal(key)
}

// reservedTags refuses tag keys that begin with "aws:", as EC2 does, except
// aws:autoscaling:groupName from the Auto Scaling principal
// (Config.AutoScalingAccessKeyID): on EC2 only the Auto Scaling service
// sets that tag, when it launches or attaches an instance. createTags
// picks CreateTags' wording of the error over RunInstances'.
func (s *Server) reservedTags(tags map[string]string, as principal, createTags bool) *apiError {
	for k := range tags {
		if !strings.HasPrefix(strings.ToLower(k), "aws:") {
			continue
		}
		if k == TagAutoScalingGroup && s.cfg.AutoScalingAccessKeyID != "" && as == principal(s.cfg.AutoScalingAccessKeyID) {
			continue
		}
		msg := "Tag keys starting with 'aws:' are reserved for internal use"
		if createTags {
			msg = fmt.Sprintf("Value ( %s ) for parameter key is invalid. %s", k, msg)
		}
		return &apiError{http.StatusBadRequest, "InvalidParameterValue", msg}
	}
	return nil
}

// joinGroupLocked puts in into service in its Auto Scaling group, if it
// has just been tagged with one.
func joinGroupLocked(in *instance) {
	if in.Tags[TagAutoScalingGroup] != "" && in.TargetLifecycleState == "" {
		in.TargetLifecycleState = LifecycleInService
	}
}

// AutoScalingTerminate terminates id as its Auto Scaling group does when
// it scales in or replaces an unhealthy instance behind a lifecycle hook:
// the target lifecycle state (IMDS autoscaling/target-lifecycle-state)
// becomes Terminated at once, and the group terminates the instance after
// hookTimeout (the hook's heartbeat timeout), unless it has left running
// by then. It returns when the termination falls due.
func (s *Server) AutoScalingTerminate(id string, hookTimeout time.Duration) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.instances[id]
	switch {
	case in == nil:
		return time.Time{}, fmt.Errorf("ec2emu: AutoScalingTerminate: no instance %q", id)
	case in.Tags[TagAutoScalingGroup] == "":
		return time.Time{}, fmt.Errorf("ec2emu: AutoScalingTerminate %s: not in an Auto Scaling group (no %s tag)", id, TagAutoScalingGroup)
	case in.State != StateRunning:
		return time.Time{}, fmt.Errorf("ec2emu: AutoScalingTerminate %s: it is %s, not running", id, in.State)
	case in.TargetLifecycleState == LifecycleTerminated:
		return time.Time{}, fmt.Errorf("ec2emu: AutoScalingTerminate %s: its group is terminating it already", id)
	case hookTimeout < 0:
		return time.Time{}, fmt.Errorf("ec2emu: AutoScalingTerminate %s: hook timeout %s is negative", id, hookTimeout)
	}
	in.TargetLifecycleState = LifecycleTerminated
	due := s.clock.Now().Add(hookTimeout)
	s.log.Info("auto scaling: terminating", "id", id, "group", in.Tags[TagAutoScalingGroup], "at", due.UTC().Format(time.RFC3339))
	s.afterLocked(hookTimeout, func() {
		if in.State == StateRunning {
			s.transitionLocked(in, verbTerminate, userReason(s.clock.Now()))
		}
	})
	return due, nil
}
