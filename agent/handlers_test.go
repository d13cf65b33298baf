package agent

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/farmhand/farmhand/agent/config"
	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// recorder is a real shell script that appends, for each run, its
// FARMHAND_ environment and its stdin to files in dir, numbered by run.
const recorder = `n=$(ls "$DIR" | grep -c '^stdin\.' || true)
env | grep '^FARMHAND_' | sort > "$DIR/env.$n"
cat > "$DIR/stdin.$n"
`

type handlerFixture struct {
	t       *testing.T
	part    *handlerPart
	metrics *eventMetrics
	hs      []config.HandlerConfig
}

// newHandlerFixture runs a handler part with hs (their commands run with
// DIR set to dir) for node i-self, role master.
func newHandlerFixture(t *testing.T, dir string, hs ...config.HandlerConfig) *handlerFixture {
	t.Helper()
	t.Setenv("DIR", dir)
	m := newEventMetrics()
	f := &handlerFixture{t: t, metrics: m, hs: hs}
	f.part = newHandlerPart(func() []config.HandlerConfig { return f.hs },
		func() handlerSelf {
			return handlerSelf{name: "i-self", cluster: "farm", tags: map[string]string{"role": "master", "az": "eu-west-1a", "rack-id": "r7"}}
		}, m, hclog.New(&hclog.LoggerOptions{Level: hclog.Debug, Output: testutil.LogWriter(t)}))
	f.part.start(nil)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := f.part.stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return f
}

func handler(name, command string, timeout time.Duration, events ...string) config.HandlerConfig {
	h := config.DefaultHandlerConfig(name)
	h.Command, h.Events = command, events
	if timeout > 0 {
		h.Timeout = timeout
	}
	return h
}

func hmember(name, addr string, st membership.Status, tags ...string) membership.Member {
	m := membership.Member{Name: name, Addr: addr, Port: 7946, Status: st, Tags: map[string]string{}}
	for _, kv := range tags {
		k, v, _ := strings.Cut(kv, "=")
		m.Tags[k] = v
	}
	return m
}

// waitFile waits until path exists and returns its content; the caller
// first waits for the run that writes it to end (a counter).
func waitFile(t *testing.T, path string) string {
	t.Helper()
	var s string
	testutil.Run(t, 10*time.Second, func(r *testutil.R) {
		b, err := os.ReadFile(path)
		if err != nil {
			r.Fatalf("%v", err)
		}
		s = string(b)
	})
	return s
}

// waitCount waits until the counter reaches want.
func waitCount(t *testing.T, what string, get func() float64, want float64) {
	t.Helper()
	testutil.Run(t, 10*time.Second, func(r *testutil.R) {
		if got := get(); got != want {
			r.Fatalf("%s = %v, want %v", what, got, want)
		}
	})
}

// TestHandlerGetsEventEnvironmentAndMembers runs a real script for a
// member-join of two members: FARMHAND_EVENT, this node's name, role and
// tags in the environment; the members on stdin in Serf's format.
func TestHandlerGetsEventEnvironmentAndMembers(t *testing.T) {
	dir := t.TempDir()
	f := newHandlerFixture(t, dir, handler("rec", recorder, 0))
	f.part.dispatch(handlerRun{event: EventMemberJoin, members: []membership.Member{
		hmember("i-0bb", "10.0.0.2", membership.StatusAlive, "role=worker", "az=eu-west-1b", "gpu=no"),
		hmember("i-0aa", "10.0.0.1", membership.StatusAlive, "role=master", "az=eu-west-1a"),
	}})
	waitCount(t, "runs", func() float64 {
		return promtest.ToFloat64(f.metrics.handlerRuns.WithLabelValues("rec", EventMemberJoin))
	}, 1)
	stdin := waitFile(t, filepath.Join(dir, "stdin.0"))
	want := "i-0aa\t10.0.0.1\tmaster\taz=eu-west-1a,role=master\n" +
		"i-0bb\t10.0.0.2\tworker\taz=eu-west-1b,gpu=no,role=worker\n"
	if stdin != want {
		t.Errorf("stdin = %q, want %q", stdin, want)
	}
	env := waitFile(t, filepath.Join(dir, "env.0"))
	for _, line := range []string{"FARMHAND_EVENT=member-join", "FARMHAND_SELF_NAME=i-self", "FARMHAND_SELF_ROLE=master",
		"FARMHAND_CLUSTER=farm", "FARMHAND_TAG_AZ=eu-west-1a", "FARMHAND_TAG_RACK_ID=r7", "FARMHAND_TAG_ROLE=master"} {
		if !strings.Contains("\n"+env, "\n"+line+"\n") {
			t.Errorf("environment lacks %s:\n%s", line, env)
		}
	}
	if n := promtest.ToFloat64(f.metrics.handlerFailures.WithLabelValues("rec", "exit")); n != 0 {
		t.Errorf("failures = %v after a clean run", n)
	}
}

// TestHandlerEventsFilterAndOrder checks that a handler runs only for the
// events it names, in the order they came, and that every handler whose
// events match runs.
func TestHandlerEventsFilterAndOrder(t *testing.T) {
	all, failed := t.TempDir(), t.TempDir()
	f := newHandlerFixture(t, "",
		handler("all", `echo "$FARMHAND_EVENT" >> `+filepath.Join(all, "log"), 0),
		handler("failed", `echo "$FARMHAND_EVENT" >> `+filepath.Join(failed, "log"), 0, EventMemberFailed, EventMemberLeave))
	m := hmember("i-1", "10.0.0.1", membership.StatusAlive)
	for _, ev := range []string{EventMemberJoin, EventMemberFailed, EventMemberUpdate, EventMemberLeave} {
		f.part.dispatch(handlerRun{event: ev, members: []membership.Member{m}})
	}
	testutil.Run(t, 10*time.Second, func(r *testutil.R) {
		a, _ := os.ReadFile(filepath.Join(all, "log"))
		b, _ := os.ReadFile(filepath.Join(failed, "log"))
		if string(a) != "member-join\nmember-failed\nmember-update\nmember-leave\n" || string(b) != "member-failed\nmember-leave\n" {
			r.Fatalf("all ran %q, failed ran %q", a, b)
		}
	})
}

// TestHandlerFailureAndTimeoutAreCountedAndSurvived runs a handler that
// fails, then one that hangs past its timeout (its process group is
// killed), and checks that both are counted and that later events still
// run the handlers.
func TestHandlerFailureAndTimeoutAreCountedAndSurvived(t *testing.T) {
	dir := t.TempDir()
	f := newHandlerFixture(t, dir,
		handler("fails", `echo "$FARMHAND_EVENT" >> "$DIR/fails"; exit 3`, 0),
		handler("hangs", `if [ "$FARMHAND_EVENT" = member-join ]; then sleep 60 & wait; fi; echo "$FARMHAND_EVENT" >> "$DIR/hangs"`, 300*time.Millisecond))
	m := hmember("i-1", "10.0.0.1", membership.StatusAlive)
	f.part.dispatch(handlerRun{event: EventMemberJoin, members: []membership.Member{m}})
	f.part.dispatch(handlerRun{event: EventMemberFailed, members: []membership.Member{m}})
	fail := func(h, why string) func() float64 {
		return func() float64 { return promtest.ToFloat64(f.metrics.handlerFailures.WithLabelValues(h, why)) }
	}
	waitCount(t, "fails' exit failures", fail("fails", "exit"), 2)
	waitCount(t, "hangs' timeouts", fail("hangs", "timeout"), 1)
	waitCount(t, "hangs' runs", func() float64 {
		return promtest.ToFloat64(f.metrics.handlerRuns.WithLabelValues("hangs", EventMemberFailed))
	}, 1)
	if got := waitFile(t, filepath.Join(dir, "hangs")); got != "member-failed\n" {
		t.Errorf("after its timeout, hangs ran %q; want the next event run", got)
	}
	if got := waitFile(t, filepath.Join(dir, "fails")); got != "member-join\nmember-failed\n" {
		t.Errorf("fails ran %q; want both events despite failing", got)
	}
}

// TestHandlerRunsOneAtATimeAndCoalesces checks that a handler never runs
// twice at once, and that member events of one kind queued behind a run
// are merged into one run with every member on stdin.
func TestHandlerRunsOneAtATimeAndCoalesces(t *testing.T) {
	dir := t.TempDir()
	// The first run waits for the test's go-ahead file, so the next events
	// queue behind it.
	script := `[ -e "$DIR/running" ] && echo overlap >> "$DIR/bad"
touch "$DIR/running"
while [ "$FARMHAND_EVENT" = member-update ] && [ ! -e "$DIR/go" ]; do sleep 0.01; done
cat >> "$DIR/stdin"
echo "$FARMHAND_EVENT" >> "$DIR/events"
rm "$DIR/running"`
	f := newHandlerFixture(t, dir, handler("slow", script, 0))
	f.part.dispatch(handlerRun{event: EventMemberUpdate, members: []membership.Member{hmember("i-0", "10.0.0.9", membership.StatusAlive)}})
	testutil.Run(t, 10*time.Second, func(r *testutil.R) {
		if _, err := os.Stat(filepath.Join(dir, "running")); err != nil {
			r.Fatalf("the first run has not started")
		}
	})
	for i := 1; i <= 5; i++ {
		f.part.dispatch(handlerRun{event: EventMemberJoin, members: []membership.Member{hmember("i-"+string(rune('0'+i)), "10.0.0.1", membership.StatusAlive)}})
	}
	f.part.dispatch(handlerRun{event: EventMemberJoin, members: []membership.Member{hmember("i-3", "10.0.0.3", membership.StatusAlive)}})
	if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitCount(t, "join runs", func() float64 {
		return promtest.ToFloat64(f.metrics.handlerRuns.WithLabelValues("slow", EventMemberJoin))
	}, 1)
	if got := waitFile(t, filepath.Join(dir, "events")); got != "member-update\nmember-join\n" {
		t.Errorf("runs %q; want the update, then one join run for the five joins", got)
	}
	stdin := waitFile(t, filepath.Join(dir, "stdin"))
	if strings.Count(stdin, "\n") != 6 || !strings.Contains(stdin, "i-3\t10.0.0.3\t") || strings.Contains(stdin, "i-3\t10.0.0.1\t") {
		t.Errorf("stdin %q; want i-0 then i-1..i-5 once each, i-3 with its latest address", stdin)
	}
	if _, err := os.Stat(filepath.Join(dir, "bad")); err == nil {
		t.Error("two runs of the handler overlapped")
	}
}

// TestHandlerCoordinatorDecision checks a coordinator-decision run: the
// decision as one JSON line on stdin, its action and code in the
// environment.
func TestHandlerCoordinatorDecision(t *testing.T) {
	dir := t.TempDir()
	f := newHandlerFixture(t, dir, handler("rec", recorder, 0, EventCoordinatorDecision))
	f.part.dispatch(handlerRun{event: EventMemberJoin, members: []membership.Member{hmember("i-1", "10.0.0.1", membership.StatusAlive)}})
	f.part.decided(coordinator.Decision{Seq: 7, Action: coordinator.ActionLaunch, Code: coordinator.CodeOK, Group: "worker", Instances: []string{"i-new"}})
	waitCount(t, "runs", func() float64 {
		return promtest.ToFloat64(f.metrics.handlerRuns.WithLabelValues("rec", EventCoordinatorDecision))
	}, 1)
	var d coordinator.Decision
	if err := json.Unmarshal([]byte(waitFile(t, filepath.Join(dir, "stdin.0"))), &d); err != nil || d.Seq != 7 || d.Instances[0] != "i-new" {
		t.Fatalf("stdin decision %+v, %v; want seq 7 launching i-new", d, err)
	}
	env := waitFile(t, filepath.Join(dir, "env.0"))
	for _, line := range []string{"FARMHAND_EVENT=coordinator-decision", "FARMHAND_DECISION_ACTION=launch", "FARMHAND_DECISION_CODE=ok"} {
		if !strings.Contains(env, line+"\n") {
			t.Errorf("environment lacks %s:\n%s", line, env)
		}
	}
}

func TestMemberEventName(t *testing.T) {
	m := func(s membership.Status) membership.Member { return membership.Member{Name: "i-1", Status: s} }
	for _, tc := range []struct {
		ev   membership.Event
		want string
	}{
		{membership.Event{Type: membership.EventJoin, Member: m(membership.StatusAlive)}, EventMemberJoin},
		{membership.Event{Type: membership.EventUpdate, Member: m(membership.StatusAlive)}, EventMemberUpdate},
		{membership.Event{Type: membership.EventReap, Member: m(membership.StatusDead)}, EventMemberReap},
		{membership.Event{Type: membership.EventStatus, Member: m(membership.StatusDead), Prev: membership.StatusSuspect}, EventMemberFailed},
		{membership.Event{Type: membership.EventStatus, Member: m(membership.StatusLeft), Prev: membership.StatusAlive}, EventMemberLeave},
		{membership.Event{Type: membership.EventStatus, Member: m(membership.StatusDraining), Prev: membership.StatusAlive}, EventMemberDraining},
		{membership.Event{Type: membership.EventStatus, Member: m(membership.StatusAlive), Prev: membership.StatusDead}, EventMemberJoin},
		{membership.Event{Type: membership.EventStatus, Member: m(membership.StatusSuspect), Prev: membership.StatusAlive}, ""},
		{membership.Event{Type: membership.EventStatus, Member: m(membership.StatusAlive), Prev: membership.StatusSuspect}, ""},
		{membership.Event{Type: membership.EventStatus, Member: m(membership.StatusDraining), Prev: membership.StatusSuspect}, ""},
	} {
		if got := memberEventName(tc.ev); got != tc.want {
			t.Errorf("%s %s (from %s) = %q, want %q", tc.ev.Type, tc.ev.Member.Status, tc.ev.Prev, got, tc.want)
		}
	}
}
