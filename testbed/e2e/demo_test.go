package e2e

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// lineLog collects a process's output lines.
type lineLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *lineLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
}

func (l *lineLog) contains(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.ContainsFunc(l.lines, func(s string) bool { return strings.Contains(s, sub) })
}

// hints are the commands the demo prints under "Try, in another
// terminal:", without their comments.
func (l *lineLog) hints() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	in := false
	for _, s := range l.lines {
		switch {
		case strings.HasPrefix(s, "Try, in another terminal:"):
			in = true
		case in && strings.HasPrefix(s, "  "):
			cmd, _, _ := strings.Cut(s, "#")
			out = append(out, strings.TrimSpace(cmd))
		case in:
			return out
		}
	}
	return out
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// `make demo` (farmhand-testbed demo, coordinator on with the testbed's
// default timings): the commands its help prints work as printed, a crash
// through the printed crash command is healed, the live view shows it, and
// Ctrl-C tears the farm down.
func TestDemoHealsACrash(t *testing.T) {
	t.Parallel()
	skipShort(t)
	bin := testutil.TestbedBinary(t)
	dir, err := os.MkdirTemp("", "fh-demo-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	var out, errOut lineLog
	cmd := exec.Command(bin, "demo", "-nodes", "5", "-dir", dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var readers sync.WaitGroup
	for _, p := range []struct {
		r io.Reader
		l *lineLog
	}{{stdout, &out}, {stderr, &errOut}} {
		readers.Add(1)
		go func() {
			defer readers.Done()
			sc := bufio.NewScanner(p.r)
			for sc.Scan() {
				p.l.add(sc.Text())
			}
		}()
	}
	exited := make(chan error, 1)
	go func() {
		readers.Wait() // Wait closes the pipes: read them to the end first
		exited <- cmd.Wait()
	}()
	stopped := false
	defer func() {
		if !stopped {
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("demo stdout:\n%s\ndemo stderr:\n%s", out.String(), errOut.String())
		}
	}()

	testutil.Run(t, formTimeout, func(r *testutil.R) {
		if !out.contains("farm formed: every agent sees 5 alive") {
			r.Fatalf("the demo has not reported the farm formed")
		}
	})
	st, err := testbed.ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	var originals []string
	for _, in := range st.Instances {
		originals = append(originals, in.ID)
	}
	victim := originals[1] // the one the demo's help suggests crashing

	// Every hint runs as printed: members and info through the agent's
	// socket, status and crash through the testbed.
	hints := out.hints()
	if len(hints) != 4 {
		t.Fatalf("the demo printed %d commands to try, want 4: %q", len(hints), hints)
	}
	for i, want := range []string{originals[0], st.Cluster, victim, victim} {
		b, err := exec.Command("sh", "-c", hints[i]).CombinedOutput()
		if err != nil || !strings.Contains(string(b), want) {
			t.Fatalf("the printed %q: %v, output lacks %s:\n%s", hints[i], err, want, b)
		}
	}

	// The farm page: the demo prints its URL, and it shows the farm.
	var pageURL string
	for _, l := range strings.Split(out.String(), "\n") {
		if _, u, ok := strings.Cut(l, "Farm page (refreshes itself; watch a crash and its replacement): "); ok {
			pageURL = strings.TrimSpace(u)
		}
	}
	if pageURL == "" || pageURL != st.Instances[0].Page {
		t.Fatalf("the demo printed the farm page %q, want the first instance's %q", pageURL, st.Instances[0].Page)
	}
	resp, err := http.Get(pageURL)
	if err != nil {
		t.Fatalf("the printed farm page: %v", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `id="member-`+originals[0]+`"`) {
		t.Fatalf("the printed farm page %s: %s, without member %s:\n%s", pageURL, resp.Status, originals[0], page)
	}

	// Healed: the crashed instance is terminated, a new one runs, and every
	// running agent sees five alive, the new one among them.
	ctx := context.Background()
	var replacement string
	testutil.Run(t, healTimeout, func(r *testutil.R) {
		st, err := testbed.ReadState(dir)
		if err != nil {
			r.Fatalf("%v", err)
		}
		var fresh []string
		for _, in := range st.Instances {
			if !slices.Contains(originals, in.ID) {
				fresh = append(fresh, in.ID)
			}
			if in.ID == victim && in.State != "terminated" {
				r.Fatalf("the crashed %s is %q, want terminated", victim, in.State)
			}
		}
		if len(fresh) != 1 {
			r.Fatalf("new instances %v, want exactly one", fresh)
		}
		for _, in := range st.Instances {
			if in.Agent != agentRunning {
				continue
			}
			view, err := View(ctx, in.Socket)
			if err != nil {
				r.Fatalf("%s: %v", in.ID, err)
			}
			alive := 0
			for _, m := range view {
				if m.Status == membership.StatusAlive {
					alive++
				}
			}
			if alive != 5 || view[fresh[0]].Status != membership.StatusAlive {
				r.Fatalf("%s sees %d alive and the replacement %s as %q", in.ID, alive, fresh[0], view[fresh[0]].Status)
			}
		}
		replacement = fresh[0]
	})
	short := replacement[len(replacement)-6:]
	testutil.Run(t, 10*time.Second, func(r *testutil.R) {
		if !out.contains(short + ":running/5") {
			r.Fatalf("the live view does not show the replacement %s running and seeing 5", replacement)
		}
	})

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Errorf("demo exited with %v after Ctrl-C, want 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the demo did not stop within 30s of Ctrl-C")
	}
	if !errOut.contains("farm torn down") {
		t.Errorf("the demo did not report the teardown")
	}
	if _, err := os.Stat(dir + "/" + testbed.StateFile); !os.IsNotExist(err) {
		t.Errorf("%s left behind after teardown (stat: %v)", testbed.StateFile, err)
	}
	t.Logf("healed: %s replaced by %s", victim, replacement)
}
