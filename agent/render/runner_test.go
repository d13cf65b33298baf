package render

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed/testutil"
)

const waitFor = 10 * time.Second

// fakeView is a member view the test changes.
type fakeView struct {
	mu      sync.Mutex
	members []membership.Member
	local   membership.Member
}

func (v *fakeView) get() ([]membership.Member, membership.Member) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]membership.Member(nil), v.members...), v.local
}

// setStatus changes the status of the member called name.
func (v *fakeView) setStatus(t *testing.T, name string, s membership.Status) {
	t.Helper()
	v.mu.Lock()
	defer v.mu.Unlock()
	for i := range v.members {
		if v.members[i].Name == name {
			v.members[i].Status = s
			return
		}
	}
	t.Fatalf("no member %s", name)
}

func (v *fakeView) add(m membership.Member) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.members = append(v.members, m)
}

// fakeExec counts reload commands; fail decides each call's error.
type fakeExec struct {
	mu    sync.Mutex
	calls []string
	fail  func(call int) error
}

func (e *fakeExec) run(ctx context.Context, cmd string) ([]byte, error) {
	e.mu.Lock()
	e.calls = append(e.calls, cmd)
	n := len(e.calls)
	fail := e.fail
	e.mu.Unlock()
	if fail != nil {
		if err := fail(n); err != nil {
			return []byte("reload output " + cmd), err
		}
	}
	return []byte("ok"), nil
}

func (e *fakeExec) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.calls)
}

type harness struct {
	t      *testing.T
	dir    string
	clock  *clockwork.FakeClock
	view   *fakeView
	exec   *fakeExec
	logs   *testutil.Buffer
	runner *Runner
}

// newHarness builds a runner over a copy of view writing into a temp dir;
// each spec's Destination is a file name in that dir.
func newHarness(t *testing.T, view []membership.Member, local membership.Member, specs ...Spec) *harness {
	t.Helper()
	h := &harness{
		t:     t,
		dir:   t.TempDir(),
		clock: clockwork.NewFakeClockAt(time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)),
		view:  &fakeView{members: view, local: local},
		exec:  &fakeExec{},
		logs:  &testutil.Buffer{},
	}
	for i := range specs {
		specs[i].Destination = filepath.Join(h.dir, specs[i].Destination)
	}
	r, err := NewRunner(RunnerConfig{
		Cluster: testCluster,
		Targets: specs,
		View:    h.view.get,
		Clock:   h.clock,
		Logger:  hclog.New(&hclog.LoggerOptions{Output: h.logs, Level: hclog.Debug}),
		Exec:    h.exec.run,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.runner = r
	return h
}

// start runs the runner until the test ends and waits for the start render.
func (h *harness) start() {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.runner.Run(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			h.t.Errorf("Run returned %v on cancel, want nil", err)
		}
	})
	for _, st := range h.runner.Status() {
		h.wait(st.Name, "start render", func(s TargetStatus) bool { return s.Renders >= 1 && s.Evaluations >= 1 })
	}
}

func (h *harness) status(name string) TargetStatus {
	h.t.Helper()
	for _, st := range h.runner.Status() {
		if st.Name == name {
			return st
		}
	}
	h.t.Fatalf("no target %s", name)
	return TargetStatus{}
}

func (h *harness) wait(name, what string, ok func(TargetStatus) bool) TargetStatus {
	h.t.Helper()
	var st TargetStatus
	testutil.Run(h.t, waitFor, func(r *testutil.R) {
		st = h.status(name)
		if !ok(st) {
			r.Errorf("%s: waiting for %s; status %+v", name, what, st)
		}
	})
	return st
}

// notify signals a view change and waits until the runner has evaluated
// it (and armed its timer).
func (h *harness) notify() {
	h.t.Helper()
	before := h.runner.Status()
	h.runner.Notify()
	for _, b := range before {
		h.wait(b.Name, "evaluation", func(s TargetStatus) bool { return s.Evaluations > b.Evaluations })
	}
}

// timerArmed fails the test unless the runner's timer is still waiting on
// the fake clock (it has not fired).
func (h *harness) timerArmed() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := h.clock.BlockUntilContext(ctx, 1); err != nil {
		h.t.Fatalf("no timer waiting on the clock: %v", err)
	}
}

func (h *harness) read(name string) string {
	h.t.Helper()
	b, err := os.ReadFile(filepath.Join(h.dir, name))
	if err != nil {
		h.t.Fatal(err)
	}
	return string(b)
}

func (h *harness) mtime(name string) time.Time {
	h.t.Helper()
	fi, err := os.Stat(filepath.Join(h.dir, name))
	if err != nil {
		h.t.Fatal(err)
	}
	return fi.ModTime()
}

// ageFile sets the file's mtime an hour back, so any rewrite shows.
func (h *harness) ageFile(name string) time.Time {
	h.t.Helper()
	past := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(filepath.Join(h.dir, name), past, past); err != nil {
		h.t.Fatal(err)
	}
	return past
}

func workersSpec() Spec {
	return Spec{Name: "workers", Template: "hadoop-workers", Destination: "workers",
		Filter: Filter{Role: "datanode"}, ReloadCommand: "reload-workers",
		WaitMin: time.Second, WaitMax: 4 * time.Second, Stable: 5 * time.Second}
}

func excludeSpec() Spec {
	return Spec{Name: "exclude", Template: "hdfs-exclude", Destination: "exclude",
		Filter: Filter{Role: "datanode"}, ReloadCommand: "reload-exclude",
		WaitMin: time.Second, WaitMax: 4 * time.Second, Stable: 5 * time.Second}
}

func TestRunnerRendersAtStart(t *testing.T) {
	h := newHarness(t, fixtureView(), fixtureLocal(), workersSpec())
	h.start()
	want, _ := os.ReadFile(filepath.Join("testdata", "hadoop-workers.golden"))
	if got := h.read("workers"); got != string(want) {
		t.Errorf("start render:\n%s\nwant\n%s", got, want)
	}
	st := h.status("workers")
	if st.Writes != 1 || st.ReloadRuns != 1 || h.exec.count() != 1 || st.Pending || st.LastError != "" {
		t.Errorf("after start: %+v, exec calls %d", st, h.exec.count())
	}
}

func TestRunnerJoinWrittenOnceAfterStabilityWindow(t *testing.T) {
	h := newHarness(t, fixtureView(), fixtureLocal(), workersSpec())
	h.start()
	t0 := h.clock.Now()
	before := h.read("workers")

	h.view.add(member("i-0b01", "10.0.2.1", membership.StatusAlive, "role", "datanode"))
	h.notify()
	st := h.status("workers")
	if !st.Pending || !st.DueAt.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("after the join: pending %v due %v, want due at start+Stable (5s)", st.Pending, st.DueAt.Sub(t0))
	}

	// Past WaitMin and WaitMax but inside Stable: nothing is written.
	h.clock.Advance(4 * time.Second)
	h.timerArmed()
	if got := h.read("workers"); got != before {
		t.Fatalf("file rewritten before the stability window:\n%s", got)
	}
	if st := h.status("workers"); st.Renders != 1 || st.Writes != 1 {
		t.Fatalf("rendered inside the window: %+v", st)
	}

	h.clock.Advance(time.Second)
	st = h.wait("workers", "the join written", func(s TargetStatus) bool { return s.Writes == 2 })
	if !strings.Contains(h.read("workers"), "10.0.2.1\n") {
		t.Errorf("joined member missing:\n%s", h.read("workers"))
	}
	if st.Renders != 2 || st.ReloadRuns != 2 || h.exec.count() != 2 || st.Pending {
		t.Errorf("after the window: %+v, exec calls %d; want one write and one reload for the join", st, h.exec.count())
	}

	// Nothing else is pending: time passing writes nothing more.
	h.clock.Advance(time.Hour)
	h.notify()
	if st := h.status("workers"); st.Writes != 2 || st.Pending || h.exec.count() != 2 {
		t.Errorf("later: %+v, exec calls %d", st, h.exec.count())
	}
}

func TestRunnerFlapWithinWindowNoRewrite(t *testing.T) {
	h := newHarness(t, fixtureView(), fixtureLocal(), workersSpec(), excludeSpec())
	h.start()
	wWorkers, wExclude := h.ageFile("workers"), h.ageFile("exclude")
	workers, exclude := h.read("workers"), h.read("exclude")

	h.view.setStatus(t, "i-0a02", membership.StatusDead)
	h.notify()
	h.clock.Advance(2 * time.Second)
	h.view.setStatus(t, "i-0a02", membership.StatusAlive)
	h.notify()
	if st := h.status("exclude"); !st.Pending {
		t.Fatalf("the flap left nothing pending: %+v", st)
	}
	h.clock.Advance(10 * time.Second)
	for _, name := range []string{"workers", "exclude"} {
		st := h.wait(name, "the flap's window to pass", func(s TargetStatus) bool { return s.Renders == 2 && !s.Pending })
		if st.Writes != 1 || st.ReloadRuns != 1 {
			t.Errorf("%s after a flap: %+v; want no write and no reload", name, st)
		}
	}
	if h.read("workers") != workers || h.read("exclude") != exclude {
		t.Error("content changed after a flap")
	}
	if !h.mtime("workers").Equal(wWorkers) || !h.mtime("exclude").Equal(wExclude) {
		t.Error("a flap rewrote a file (mtime moved)")
	}
	if n := h.exec.count(); n != 2 {
		t.Errorf("%d reloads, want 2 (one per file at start)", n)
	}
}

func TestRunnerDeadNodeMovesToExclude(t *testing.T) {
	h := newHarness(t, fixtureView(), fixtureLocal(), workersSpec(), excludeSpec())
	h.start()
	if !strings.Contains(h.read("workers"), "10.0.1.2\n") || strings.Contains(h.read("exclude"), "10.0.1.2\n") {
		t.Fatalf("fixture: i-0a02 should start in workers only")
	}
	h.view.setStatus(t, "i-0a02", membership.StatusDead)
	h.notify()
	h.clock.Advance(5 * time.Second)
	h.wait("workers", "write", func(s TargetStatus) bool { return s.Writes == 2 })
	h.wait("exclude", "write", func(s TargetStatus) bool { return s.Writes == 2 })
	if strings.Contains(h.read("workers"), "10.0.1.2\n") {
		t.Errorf("dead node still in workers:\n%s", h.read("workers"))
	}
	if !strings.Contains(h.read("exclude"), "10.0.1.2\n") {
		t.Errorf("dead node not in exclude:\n%s", h.read("exclude"))
	}
	if n := h.exec.count(); n != 4 {
		t.Errorf("%d reloads, want 4 (each file at start and after the death)", n)
	}
}

func TestRunnerDebounceCappedByWaitMax(t *testing.T) {
	spec := workersSpec()
	spec.Stable, spec.WaitMin, spec.WaitMax = 0, 2*time.Second, 5*time.Second
	h := newHarness(t, fixtureView(), fixtureLocal(), spec)
	h.start()
	t0 := h.clock.Now()
	// A change every second keeps resetting the 2s quiet time; WaitMax
	// forces the write 5s after the first change.
	for i := 0; i < 5; i++ {
		h.view.add(member("i-0c0"+string(rune('1'+i)), "10.0.3."+string(rune('1'+i)), membership.StatusAlive, "role", "datanode"))
		h.notify()
		want := t0.Add(time.Duration(i)*time.Second + 2*time.Second)
		if limit := t0.Add(5 * time.Second); want.After(limit) {
			want = limit
		}
		if st := h.status("workers"); !st.DueAt.Equal(want) {
			t.Fatalf("change %d: due %v, want %v", i, st.DueAt.Sub(t0), want.Sub(t0))
		}
		if i < 4 {
			h.clock.Advance(time.Second)
			h.timerArmed()
		}
	}
	h.clock.Advance(time.Second)
	h.wait("workers", "the capped write", func(s TargetStatus) bool { return s.Writes == 2 })
	if got := h.read("workers"); !strings.Contains(got, "10.0.3.5\n") {
		t.Errorf("write at WaitMax lacks the latest change:\n%s", got)
	}
}

func TestRunnerReloadFailureRetriedOnNextChange(t *testing.T) {
	h := newHarness(t, fixtureView(), fixtureLocal(), workersSpec())
	h.exec.fail = func(call int) error {
		if call == 1 {
			return errors.New("exit status 3")
		}
		return nil
	}
	h.start()
	st := h.status("workers")
	if st.ReloadFailures != 1 || !st.ReloadOwed || !strings.Contains(st.LastError, "reload-workers") || !strings.Contains(st.LastError, "exit status 3") {
		t.Fatalf("after a failed reload: %+v", st)
	}
	if logs := h.logs.String(); !strings.Contains(logs, "reload failed") || !strings.Contains(logs, "reload output reload-workers") {
		t.Errorf("failure not logged with its output:\n%s", logs)
	}
	// Nothing retries the reload on its own.
	h.clock.Advance(time.Hour)
	h.notify()
	if n := h.exec.count(); n != 1 {
		t.Fatalf("%d reload runs without a change, want 1", n)
	}
	// The next change (here a flap, so the file content stays the same)
	// retries the owed reload.
	h.view.setStatus(t, "i-0a02", membership.StatusDead)
	h.notify()
	h.view.setStatus(t, "i-0a02", membership.StatusAlive)
	h.notify()
	h.clock.Advance(5 * time.Second)
	st = h.wait("workers", "the retried reload", func(s TargetStatus) bool { return s.ReloadRuns == 2 })
	if st.ReloadOwed || st.LastError != "" || st.Writes != 1 || h.exec.count() != 2 {
		t.Errorf("after the retry: %+v, exec calls %d", st, h.exec.count())
	}
}

func TestRunnerReloadTimeout(t *testing.T) {
	h := newHarness(t, fixtureView(), fixtureLocal(), workersSpec())
	started := make(chan struct{}, 1)
	h.runner.cfg.Exec = func(ctx context.Context, cmd string) ([]byte, error) {
		started <- struct{}{}
		<-ctx.Done()
		return []byte("partial"), ctx.Err()
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.runner.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	<-started
	h.timerArmed()
	h.clock.Advance(DefaultReloadTimeout)
	st := h.wait("workers", "the timeout", func(s TargetStatus) bool { return s.ReloadFailures == 1 })
	if !strings.Contains(st.LastError, "timed out after 30s") || st.LastReloadOutput != "partial" || !st.ReloadOwed {
		t.Errorf("after a timeout: %+v", st)
	}
}

func TestRunnerRealShellReloadRunsOncePerChange(t *testing.T) {
	counter := filepath.Join(t.TempDir(), "reloads")
	spec := workersSpec()
	spec.ReloadCommand = "echo reload >> " + counter
	h := newHarness(t, fixtureView(), fixtureLocal(), spec)
	h.runner.cfg.Exec = ShellExec
	h.start()
	lines := func() int {
		b, err := os.ReadFile(counter)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(string(b), "reload\n")
	}
	if n := lines(); n != 1 {
		t.Fatalf("%d reloads after start, want 1", n)
	}
	// Two real changes and one flap: two more reloads.
	h.view.setStatus(t, "i-0a02", membership.StatusDead)
	h.notify()
	h.clock.Advance(5 * time.Second)
	h.wait("workers", "first change", func(s TargetStatus) bool { return s.Writes == 2 })

	h.view.setStatus(t, "i-0a03", membership.StatusLeft)
	h.notify()
	h.view.setStatus(t, "i-0a03", membership.StatusSuspect)
	h.notify()
	h.clock.Advance(5 * time.Second)
	h.wait("workers", "flap applied", func(s TargetStatus) bool { return s.Renders == 3 })

	h.view.add(member("i-0b01", "10.0.2.1", membership.StatusAlive, "role", "datanode"))
	h.notify()
	h.clock.Advance(5 * time.Second)
	st := h.wait("workers", "second change", func(s TargetStatus) bool { return s.Writes == 3 })
	if n := lines(); n != 3 || st.ReloadRuns != 3 {
		t.Errorf("%d reloads in the counter file (status %d), want 3", n, st.ReloadRuns)
	}
	if st.LastReloadOutput != "" || st.LastError != "" {
		t.Errorf("status %+v", st)
	}
}

func TestRunnerUnchangedAtStartNoWrite(t *testing.T) {
	h := newHarness(t, fixtureView(), fixtureLocal(), workersSpec())
	want, err := os.ReadFile(filepath.Join("testdata", "hadoop-workers.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.dir, "workers"), want, 0o644); err != nil {
		t.Fatal(err)
	}
	past := h.ageFile("workers")
	h.start()
	st := h.status("workers")
	if st.Writes != 0 || st.ReloadRuns != 0 || h.exec.count() != 0 {
		t.Errorf("identical file rewritten or reloaded at start: %+v", st)
	}
	if !h.mtime("workers").Equal(past) {
		t.Error("mtime moved on unchanged content")
	}
}

func TestRunnerLeavesNoTempFiles(t *testing.T) {
	h := newHarness(t, fixtureView(), fixtureLocal(), workersSpec(), excludeSpec())
	h.start()
	for i, name := range []string{"i-0a02", "i-0a03"} {
		h.view.setStatus(t, name, membership.StatusDead)
		h.notify()
		h.clock.Advance(5 * time.Second)
		h.wait("exclude", "write", func(s TargetStatus) bool { return s.Writes == uint64(i+2) })
	}
	onlyFiles(t, h.dir, "workers", "exclude")
}

func TestRunnerRenderErrorKeepsFile(t *testing.T) {
	// Fails only once the view has more than 10 members; the sample view at
	// Compile has 4, the fixture 10.
	tmpl := writeTemplate(t, "{{if gt (len .All) 10}}{{index .All 99}}{{end}}{{len .All}}\n")
	spec := Spec{Name: "custom", Template: tmpl, Destination: "custom"}
	h := newHarness(t, fixtureView(), fixtureLocal(), spec)
	h.start()
	if got := h.read("custom"); got != "10\n" {
		t.Fatalf("start render %q", got)
	}
	h.view.add(member("i-0b01", "10.0.2.1", membership.StatusAlive))
	h.notify()
	st := h.status("custom")
	if !strings.Contains(st.LastError, "index") || st.Pending {
		t.Errorf("after a failing render: %+v", st)
	}
	if got := h.read("custom"); got != "10\n" {
		t.Errorf("file changed after a failing render: %q", got)
	}
	if !strings.Contains(h.logs.String(), "render failed") {
		t.Errorf("render failure not logged:\n%s", h.logs.String())
	}
}

func TestRunnerEventsChannel(t *testing.T) {
	events := make(chan struct{})
	spec := workersSpec()
	spec.Stable, spec.WaitMin, spec.WaitMax = 0, 0, 0
	h := newHarness(t, fixtureView(), fixtureLocal(), spec)
	h.runner.cfg.Events = events
	h.start()
	h.view.add(member("i-0b01", "10.0.2.1", membership.StatusAlive, "role", "datanode"))
	events <- struct{}{}
	h.wait("workers", "the write", func(s TargetStatus) bool { return s.Writes == 2 })
	close(events)
	// A closed Events channel is ignored; Notify still works.
	h.view.setStatus(t, "i-0b01", membership.StatusDead)
	h.notify()
	h.wait("workers", "the write", func(s TargetStatus) bool { return s.Writes == 3 })
}

func TestNewRunnerErrors(t *testing.T) {
	dir := t.TempDir()
	view := func() ([]membership.Member, membership.Member) { return nil, membership.Member{} }
	spec := func(name, dest string) Spec {
		return Spec{Name: name, Template: "json", Destination: filepath.Join(dir, dest)}
	}
	cases := []struct {
		cfg  RunnerConfig
		want string
	}{
		{RunnerConfig{}, "RunnerConfig.View"},
		{RunnerConfig{View: view, Targets: []Spec{spec("a", "x"), spec("a", "y")}}, `render "a": two render blocks`},
		{RunnerConfig{View: view, Targets: []Spec{spec("a", "x"), spec("b", "./x")}}, `render "b": destination`},
		{RunnerConfig{View: view, Targets: []Spec{spec("a", "x"), {Name: "c", Template: "nope", Destination: filepath.Join(dir, "z")}}}, `render "c"`},
	}
	for _, c := range cases {
		if _, err := NewRunner(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewRunner: %v, want an error containing %q", err, c.want)
		}
	}
}

func TestRunnerRunTwice(t *testing.T) {
	h := newHarness(t, fixtureView(), fixtureLocal(), workersSpec())
	h.start()
	if err := h.runner.Run(context.Background()); err == nil {
		t.Error("second Run succeeded")
	}
}
