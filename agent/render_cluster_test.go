package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/farmhand/farmhand/agent/config"
	"github.com/farmhand/farmhand/agent/render"
	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// The render blocks on a real cluster: in-process agents on 127.x with the
// embedded S3, real memberlist, real files and reload commands run by
// /bin/sh. Windows are short so the tests stay fast; the assertions are on
// the agent's own counters (GET /v1/render), the files on disk and a log
// that the reload command itself appends to.

// Short render timings for the cluster tests.
const (
	testRenderWaitMin = 200 * time.Millisecond
	testRenderStable  = 500 * time.Millisecond
)

// renderProbe is one render block of one agent: its destination and the
// log its reload command appends to.
type renderProbe struct {
	a       *testAgent
	name    string
	dest    string
	reloads string
}

// addRender adds a render block called name with a built-in template to
// cfg, writing into a fresh directory, with the given stability window.
// Its reload command appends the line count of the destination, as the
// command sees it, to a log: one line per run.
func addRender(t *testing.T, cfg *config.Config, name, template string, stable time.Duration) *renderProbe {
	t.Helper()
	dir := t.TempDir()
	p := &renderProbe{
		name:    name,
		dest:    filepath.Join(dir, name),
		reloads: filepath.Join(dir, name+".reloads"),
	}
	cfg.Render = append(cfg.Render, config.RenderConfig{
		// No Status: the block sees every member and the built-in
		// template picks live or gone ones itself. (The HCL default of
		// status is ["alive"], which would hide suspect, dead and left
		// members from these templates.)
		Name:          name,
		Template:      template,
		Destination:   p.dest,
		ReloadCommand: fmt.Sprintf("wc -l < '%s' >> '%s'", p.dest, p.reloads),
		ReloadTimeout: 10 * time.Second,
		WaitMin:       testRenderWaitMin,
		WaitMax:       4 * testRenderWaitMin,
		Stable:        stable,
	})
	return p
}

// status returns the block's status from the agent's local API.
func (p *renderProbe) status(t *testing.T) render.TargetStatus {
	t.Helper()
	sts, err := p.a.client().RenderStatus(context.Background())
	if err != nil {
		t.Fatalf("%s: GET /v1/render: %v", p.a.cfg.Identity.InstanceID, err)
	}
	for _, st := range sts {
		if st.Name == p.name {
			return st
		}
	}
	t.Fatalf("%s: no render block %q in %+v", p.a.cfg.Identity.InstanceID, p.name, sts)
	return render.TargetStatus{}
}

// content returns the destination file's content ("" if it is missing).
func (p *renderProbe) content(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(p.dest)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

// reloadRuns returns what the reload command logged, one entry per run:
// the destination's line count it saw.
func (p *renderProbe) reloadRuns(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(p.reloads)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}

// settle waits until the block has nothing pending and its file holds
// want, and returns its status then.
func (p *renderProbe) settle(t *testing.T, want string) render.TargetStatus {
	t.Helper()
	var st render.TargetStatus
	testutil.Run(t, 30*time.Second, func(r *testutil.R) {
		st = p.status(t)
		if st.Pending {
			r.Fatalf("%s: render %q still pending (due %s)", p.a.cfg.Identity.InstanceID, p.name, st.DueAt)
		}
		if got := p.content(t); got != want {
			r.Fatalf("%s: %s = %q, want %q", p.a.cfg.Identity.InstanceID, p.name, got, want)
		}
	})
	return st
}

// checkRuns fails t unless the reload command ran exactly once per write
// (the agent's count and the command's own log agree) and, on the last
// run, saw a file of lastLines lines.
func (p *renderProbe) checkRuns(t *testing.T, st render.TargetStatus, lastLines int) {
	t.Helper()
	runs := p.reloadRuns(t)
	if uint64(len(runs)) != st.Writes || st.ReloadRuns != st.Writes || st.ReloadFailures != 0 {
		t.Fatalf("%s: %d writes, %d reload runs (%d failed), the command logged %d runs %q; want one successful run per write",
			p.name, st.Writes, st.ReloadRuns, st.ReloadFailures, len(runs), runs)
	}
	if len(runs) > 0 && runs[len(runs)-1] != fmt.Sprint(lastLines) {
		t.Fatalf("%s: the last reload saw %s lines, want %d (it must run after the new file is in place)", p.name, runs[len(runs)-1], lastLines)
	}
}

// hostLines is the hadoop-workers form of a list of agents: one address a
// line, in member name order (the agents here have no hostname tag).
func hostLines(as ...*testAgent) string {
	var b strings.Builder
	for _, a := range as {
		b.WriteString(a.cfg.Identity.PrivateIP + "\n")
	}
	return b.String()
}

const hdfsExcludeHeader = "# Managed by farmhand (cluster c1); do not edit. HDFS dfs.hosts.exclude: draining, dead or left members.\n"

// A node joins: the workers file of an existing node is rewritten once,
// after the stability window, and its reload command runs once and sees
// the new file.
func TestRenderNodeJoinWritesOnceAfterWindow(t *testing.T) {
	// A window longer than a join takes, so that a write that ignored it
	// would come before joinAt + stable.
	const stable = 2 * testRenderStable
	f := newFarm(t)
	cfgA := f.config(nodeName(0), "c1")
	w := addRender(t, cfgA, "workers", "hadoop-workers", stable)
	a := f.start(cfgA)
	w.a = a
	b := f.start(f.config(nodeName(1), "c1"))
	waitAlive(t, 2, a, b)
	before := w.settle(t, hostLines(a, b))
	w.checkRuns(t, before, 2)
	fi, err := os.Stat(w.dest)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != render.DefaultMode {
		t.Fatalf("workers file mode %v, want %v", fi.Mode().Perm(), render.DefaultMode)
	}

	joinAt := time.Now()
	c := f.start(f.config(nodeName(2), "c1"))
	waitAlive(t, 3, a, b, c)
	after := w.settle(t, hostLines(a, b, c))

	if after.Writes != before.Writes+1 {
		t.Fatalf("one join: %d writes, want exactly one more than the %d before", after.Writes, before.Writes)
	}
	w.checkRuns(t, after, 3)
	// The write waited for the window: the view changed after joinAt, and
	// the change is applied no earlier than Stable after its last change.
	if earliest := joinAt.Add(stable); after.LastWrite.Before(earliest) {
		t.Fatalf("written at %s, before the stability window could have passed (%s)", after.LastWrite, earliest)
	}
	if after.Evaluations <= before.Evaluations {
		t.Fatalf("the join was not evaluated: %d evaluations before, %d after", before.Evaluations, after.Evaluations)
	}
	if after.LastError != "" {
		t.Fatalf("last error: %s", after.LastError)
	}
}

// A member flaps within the window: c restarts (graceful leave, then the
// same instance on the same address and data dir starts again), so the
// observer sees it alive, left, alive. Its workers rendering changes (c
// drops out) and changes back before the window closes, so when the window
// does close the file already holds the rendering: nothing is written and
// the reload command does not run. The test checks that the intermediate
// rendering really differed (the block went pending) and that the window
// did close (one more comparison with the file), so "no write" is not just
// "nothing happened yet". The debounce is off (wait_min = wait_max = 0),
// so only the stability window holds the change back; it is longer than in
// the other tests because it must cover an agent restart.
func TestRenderFlapWithinWindowDoesNotRewrite(t *testing.T) {
	const stable = 5 * time.Second
	f := newFarm(t)
	cfgA := f.config(nodeName(0), "c1")
	w := addRender(t, cfgA, "workers", "hadoop-workers", stable)
	cfgA.Render[0].WaitMin, cfgA.Render[0].WaitMax = 0, 0
	a := f.start(cfgA)
	w.a = a
	b := f.start(f.config(nodeName(1), "c1"))
	cfgC := f.config(nodeName(2), "c1")
	c := f.start(cfgC)
	waitAlive(t, 3, a, b, c)
	want := hostLines(a, b, c)
	before := w.settle(t, want)
	fi, err := os.Stat(w.dest)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := c.client().Leave(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.stop(t)
	testutil.Run(t, 20*time.Second, func(r *testutil.R) {
		if s := statusOf(t, a, cfgC.Identity.InstanceID); s != membership.StatusLeft {
			r.Fatalf("a sees c as %q, want left", s)
		}
		if st := w.status(t); !st.Pending {
			r.Fatalf("c left but the workers block has no pending change: %+v", st)
		}
	})
	c2 := f.start(cfgC)
	waitAlive(t, 3, a, b, c2)
	if st := w.status(t); !st.Pending || st.Writes != before.Writes {
		t.Fatalf("the change was applied before c came back (status %+v): either the %s stability window was not honoured or the restart took longer than that", st, stable)
	}

	after := w.settle(t, want)
	if after.Renders != before.Renders+1 {
		t.Fatalf("renders %d, want %d: the window should have closed once, comparing the rendering with the file", after.Renders, before.Renders+1)
	}
	if after.Writes != before.Writes || after.ReloadRuns != before.ReloadRuns {
		t.Fatalf("a flap within the window wrote the file %d times and ran the reload %d times, want none",
			after.Writes-before.Writes, after.ReloadRuns-before.ReloadRuns)
	}
	w.checkRuns(t, after, 3)
	fi2, err := os.Stat(w.dest)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(fi, fi2) || !fi2.ModTime().Equal(fi.ModTime()) {
		t.Fatal("the workers file was replaced although its content did not change")
	}
}

// A node stops without leaving (a crash, as the peers see it): it goes
// suspect, which leaves both files alone (suspect members stay listed),
// then dead, which moves it from the workers file to the exclude file in
// one write of each, each followed by exactly one reload.
func TestRenderDeadNodeMovesFromWorkersToExclude(t *testing.T) {
	f := newFarm(t)
	cfgA := f.config(nodeName(0), "c1")
	w := addRender(t, cfgA, "workers", "hadoop-workers", testRenderStable)
	x := addRender(t, cfgA, "exclude", "hdfs-exclude", testRenderStable)
	a := f.start(cfgA)
	w.a, x.a = a, a
	b := f.start(f.config(nodeName(1), "c1"))
	c := f.start(f.config(nodeName(2), "c1"))
	waitAlive(t, 3, a, b, c)
	wBefore := w.settle(t, hostLines(a, b, c))
	xBefore := x.settle(t, hdfsExcludeHeader)
	w.checkRuns(t, wBefore, 3)
	x.checkRuns(t, xBefore, 1)

	if err := c.cluster.Shutdown(); err != nil {
		t.Fatal(err)
	}
	// Suspect first: the renderer has evaluated a view since the shutdown
	// (only c's suspicion changed the view; dead cannot turn back into
	// suspect, so the status read before still saw c suspect or alive)
	// and found nothing to change in either file.
	testutil.Run(t, 30*time.Second, func(r *testutil.R) {
		ws, xs := w.status(t), x.status(t)
		if s := statusOf(t, a, c.cfg.Identity.InstanceID); s != membership.StatusSuspect {
			r.Fatalf("a sees c as %q, want suspect", s)
		}
		if ws.Evaluations == wBefore.Evaluations || xs.Evaluations == xBefore.Evaluations {
			r.Fatalf("c is suspect but the renderer has not evaluated the view yet")
		}
		if ws.Pending || xs.Pending || ws.Writes != wBefore.Writes || xs.Writes != xBefore.Writes {
			t.Fatalf("a suspect member changed the files: workers %+v, exclude %+v", ws, xs)
		}
	})
	testutil.Run(t, 30*time.Second, func(r *testutil.R) {
		if s := statusOf(t, a, c.cfg.Identity.InstanceID); s != membership.StatusDead {
			r.Fatalf("a sees c as %q, want dead", s)
		}
	})
	wAfter := w.settle(t, hostLines(a, b))
	xAfter := x.settle(t, hdfsExcludeHeader+c.cfg.Identity.PrivateIP+"\n")
	if wAfter.Writes != wBefore.Writes+1 || xAfter.Writes != xBefore.Writes+1 {
		t.Fatalf("one death: workers written %d times, exclude %d times; want once each",
			wAfter.Writes-wBefore.Writes, xAfter.Writes-xBefore.Writes)
	}
	w.checkRuns(t, wAfter, 2)
	x.checkRuns(t, xAfter, 2)
}

// The reload command runs exactly once per real change over a sequence of
// changes, and not for view changes the block does not render: a node of
// another role joins and dies, which a role-filtered block must ignore.
func TestRenderReloadOncePerRealChange(t *testing.T) {
	f := newFarm(t)
	cfgA := f.config(nodeName(0), "c1")
	w := addRender(t, cfgA, "workers", "hadoop-workers", testRenderStable)
	cfgA.Render[0].Role = "worker"
	a := f.start(cfgA)
	w.a = a
	st := w.settle(t, hostLines(a))
	w.checkRuns(t, st, 1)

	// Real change 1: a worker joins.
	b := f.start(f.config(nodeName(1), "c1"))
	waitAlive(t, 2, a, b)
	st = w.settle(t, hostLines(a, b))
	w.checkRuns(t, st, 2)
	if st.Writes != 2 {
		t.Fatalf("after the start and one join: %d writes, want 2", st.Writes)
	}

	// Not a change for this block: a master joins, and is then seen dead.
	cfgM := f.config(nodeName(2), "c1")
	cfgM.Role = "master"
	m := f.start(cfgM)
	waitAlive(t, 3, a, b, m)
	if err := m.cluster.Shutdown(); err != nil {
		t.Fatal(err)
	}
	testutil.Run(t, 30*time.Second, func(r *testutil.R) {
		if s := statusOf(t, a, cfgM.Identity.InstanceID); s != membership.StatusDead {
			r.Fatalf("a sees the master as %q, want dead", s)
		}
	})
	// The block saw the master come and go (at least two evaluations) and
	// found nothing to write.
	testutil.Run(t, 10*time.Second, func(r *testutil.R) {
		got := w.status(t)
		if got.Evaluations < st.Evaluations+2 {
			r.Fatalf("%d evaluations since the worker joined, want at least 2 for the master's join and death", got.Evaluations-st.Evaluations)
		}
		if got.Pending || got.Writes != st.Writes {
			t.Fatalf("a master's join and death changed a role=worker block: %+v", got)
		}
	})

	// Real change 2: a worker leaves.
	if _, err := b.client().Leave(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.stop(t)
	testutil.Run(t, 20*time.Second, func(r *testutil.R) {
		if s := statusOf(t, a, b.cfg.Identity.InstanceID); s != membership.StatusLeft {
			r.Fatalf("a sees b as %q, want left", s)
		}
	})
	st = w.settle(t, hostLines(a))
	if st.Writes != 3 {
		t.Fatalf("after the start, a join and a leave of workers and a master's life: %d writes, want 3", st.Writes)
	}
	w.checkRuns(t, st, 1)
	if got := w.reloadRuns(t); strings.Join(got, ",") != "1,2,1" {
		t.Fatalf("the reload command saw files of %q lines, want 1,2,1", got)
	}
}
