package main

import "context"

// Rows that need parts of farmhand that do not exist yet. Each function is
// a hook for the lead: replace its body with the measurement and return the
// figure; until then it returns the reason it cannot, and the report shows
// the row as TODO. No number is ever made up here.

// measureAgentRSS1000 is to start one real `farmhand agent` process joined
// to 999 members hosted in a second process with slow timers (so the host
// process stays idle), wait for the agent's full view, and read its VmRSS
// from /proc/<pid>/status. Target: <= 20 MB RSS.
func measureAgentRSS1000(ctx context.Context) (string, error) {
	_ = ctx
	return "", errTODO("needs the farmhand agent binary and a member-host process (testbed); TODO(lead)")
}

// measureReplacementLatency is to crash one testbed instance with the
// coordinator running and time the dead verdict to the emulated
// RunInstances call. Target: <= 1 s.
func measureReplacementLatency(ctx context.Context) (string, error) {
	_ = ctx
	return "", errTODO("needs the coordinator and the testbed EC2 emulator; TODO(lead)")
}

// measureMassDeath is to crash 100 testbed instances at once and count the
// RunInstances calls and throttling errors the coordinator causes. Target:
// <= 2 RunInstances calls, 0 throttling errors.
func measureMassDeath(ctx context.Context) (string, error) {
	_ = ctx
	return "", errTODO("needs the coordinator and the testbed EC2 emulator at 100+ instances; TODO(lead)")
}

// errTODO marks a row that is not measured yet.
type errTODO string

func (e errTODO) Error() string { return string(e) }

// hooks are the TODO rows in report order.
var hooks = []struct {
	What, Target string
	Measure      func(context.Context) (string, error)
}{
	{"agent memory with 1,000 members (RSS of one real agent process)", "<= 20 MB RSS", measureAgentRSS1000},
	{"dead verdict to RunInstances (testbed)", "<= 1 s", measureReplacementLatency},
	{"100 simultaneous deaths (testbed)", "<= 2 RunInstances calls, 0 throttling errors", measureMassDeath},
}

// runHooks runs every hook and records its figure or why it has none.
func (r *report) runHooks(ctx context.Context) {
	for _, h := range hooks {
		v, err := h.Measure(ctx)
		hr := hookResult{What: h.What, Target: h.Target, Value: v}
		if err != nil {
			hr.Err = err.Error()
		}
		r.Hooks = append(r.Hooks, hr)
	}
}
