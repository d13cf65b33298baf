package main

import (
	"strings"
	"testing"
	"time"

	"github.com/farmhand/farmhand/agent/coordinator"
)

// coordinator status says why a member waits (the verdict's code and
// reason) and whether the cluster has formed.
func TestCoordinatorStatusTextShowsCodesAndFormation(t *testing.T) {
	d := coordinator.Decision{Time: time.Now(), Epoch: 3, Action: coordinator.ActionSkip, Code: coordinator.CodeStoppedGrace,
		Group: "worker", Instance: "i-0abc", Reason: "left when its instance was stopped (EC2 says stopped) 2m0s ago: ... for stopped_grace 1h0m0s"}
	var b strings.Builder
	writeCoordinatorStatus(&b, coordinator.Status{Leader: true, Holder: "i-0lead", Epoch: 3, LastDecisions: []coordinator.Decision{d}})
	for _, want := range []string{"formed:      no: a new cluster", "CODE", "stopped_grace", "i-0abc", "for stopped_grace 1h0m0s"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	writeCoordinatorStatus(&b, coordinator.Status{Leader: true, Formed: time.Date(2026, 12, 4, 17, 0, 0, 0, time.Local)})
	if !strings.Contains(b.String(), "formed:      since 2026-12-04 17:00:00") {
		t.Errorf("status of a formed cluster:\n%s", b.String())
	}
}
