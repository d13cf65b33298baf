package imdsemu

import (
	"encoding/json"
	"strings"
	"time"
)

// Events is what an instance's metadata says of its market and its fate.
// The emulator reads it afresh on every request (Config.Events), so the
// EC2 emulator can stay the one place that knows.
type Events struct {
	// Spot makes instance-life-cycle "spot" (otherwise "on-demand").
	Spot bool
	// SpotAction is the interruption EC2 has scheduled: "terminate",
	// "stop" or "hibernate", at SpotActionTime. "" (none) makes
	// spot/instance-action answer 404, as IMDS does until there is a
	// notice.
	SpotAction     string
	SpotActionTime time.Time
	// RebalanceTime is when EC2 recommended rebalancing; zero makes
	// events/recommendations/rebalance answer 404.
	RebalanceTime time.Time
	// TargetLifecycleState is Auto Scaling's target lifecycle state of the
	// instance ("InService", "Terminated", ...); "" (not in a group) makes
	// autoscaling/target-lifecycle-state answer 404.
	TargetLifecycleState string
	// PendingTime, unless zero, is the identity document's pendingTime:
	// when the instance last entered pending (its launch or latest start).
	PendingTime time.Time
}

// imdsTime is the time format of IMDS's notices: UTC to the second.
func imdsTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// events returns the current Events (the zero value without a source).
func (s *Server) events() Events {
	if s.cfg.Events == nil {
		return Events{}
	}
	return s.cfg.Events()
}

// lookupEvents answers the metadata paths of Events; ok is false for any
// other path or an item that is not there.
func lookupEvents(ev Events, path string) (string, bool) {
	switch path {
	case "/latest/meta-data/instance-life-cycle":
		if ev.Spot {
			return "spot", true
		}
		return "on-demand", true
	case "/latest/meta-data/spot":
		var items []string
		if ev.SpotAction != "" {
			items = append(items, "instance-action")
			if ev.SpotAction == "terminate" {
				items = append(items, "termination-time")
			}
		}
		return strings.Join(items, "\n"), len(items) > 0
	case "/latest/meta-data/spot/instance-action":
		if ev.SpotAction == "" {
			return "", false
		}
		return jsonText(struct {
			Action string `json:"action"`
			Time   string `json:"time"`
		}{ev.SpotAction, imdsTime(ev.SpotActionTime)}), true
	case "/latest/meta-data/spot/termination-time":
		// The older item, there only for a termination.
		if ev.SpotAction != "terminate" {
			return "", false
		}
		return imdsTime(ev.SpotActionTime), true
	case "/latest/meta-data/events":
		return "recommendations/", true
	case "/latest/meta-data/events/recommendations":
		return "rebalance", !ev.RebalanceTime.IsZero()
	case "/latest/meta-data/events/recommendations/rebalance":
		if ev.RebalanceTime.IsZero() {
			return "", false
		}
		return jsonText(struct {
			NoticeTime string `json:"noticeTime"`
		}{imdsTime(ev.RebalanceTime)}), true
	case "/latest/meta-data/autoscaling":
		return "target-lifecycle-state", ev.TargetLifecycleState != ""
	case "/latest/meta-data/autoscaling/target-lifecycle-state":
		return ev.TargetLifecycleState, ev.TargetLifecycleState != ""
	}
	return "", false
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("imdsemu: encoding a notice: " + err.Error())
	}
	return string(b)
}
