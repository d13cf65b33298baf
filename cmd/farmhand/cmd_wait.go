package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/farmhand/farmhand/agent/client"
	"github.com/farmhand/farmhand/membership"
	"github.com/jonboulle/clockwork"
)

// waitPollInterval is how often wait asks the agent.
const waitPollInterval = 250 * time.Millisecond

func init() {
	register(&command{
		Name:     "wait",
		Synopsis: "wait until N members are alive and the view is stable (for boot scripts)",
		Usage:    "-min N [-role R] [-stable DURATION] [-timeout DURATION] [-socket PATH]",
		Run:      runWait,
	})
}

// waitGoal is what wait waits for.
type waitGoal struct {
	// Min is the number of alive members needed.
	Min int
	// Role counts only members with this role tag; empty counts all.
	Role string
	// Stable is how long the view must have been unchanged.
	Stable time.Duration
}

func runWait(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet("wait", env)
	socket := socketFlag(fs)
	var g waitGoal
	fs.IntVar(&g.Min, "min", 0, "`N` members must be alive (required, at least 1)")
	fs.StringVar(&g.Role, "role", "", "count only members with this `role` tag")
	fs.DurationVar(&g.Stable, "stable", 0, "the member view must have been unchanged for this `duration`")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this `duration` (0: wait until interrupted)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if !noArgs(env, "wait", fs) {
		return exitUsage
	}
	switch {
	case g.Min < 1:
		errorf(env, "wait", "-min is required and must be at least 1, got %d", g.Min)
		return exitUsage
	case g.Stable < 0:
		errorf(env, "wait", "-stable must not be negative, got %s", g.Stable)
		return exitUsage
	case *timeout < 0:
		errorf(env, "wait", "-timeout must not be negative, got %s", *timeout)
		return exitUsage
	}
	// Progress is for a person: on a terminal one line, rewritten in place;
	// in a boot script's log, nothing but the outcome.
	var progress io.Writer = io.Discard
	var line *ttyLine
	if isTerminal(env.Stderr) {
		line = &ttyLine{w: env.Stderr}
		progress = line
	}
	err := waitFor(ctx, clockwork.NewRealClock(), agentClient(env, *socket), g, *timeout, progress)
	line.end()
	if err != nil {
		errorf(env, "wait", "%v", err)
		return 1
	}
	return 0
}

// waitFor polls the agent until g is met, printing a progress line to
// progress whenever the situation (or the time left, in seconds) changes. It returns nil once g is met,
// and an error on timeout (if timeout > 0), interruption, or a failure that
// waiting cannot cure. An agent that is not up yet is waited for.
func waitFor(ctx context.Context, clk clockwork.Clock, c *client.Client, g waitGoal, timeout time.Duration, progress io.Writer) error {
	start := clk.Now()
	// The timeout cancels the calls through the clock (no context deadline),
	// so a fake clock drives it in tests.
	pollCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if timeout > 0 {
		t := clk.AfterFunc(timeout, func() { cancel(errWaitTimeout) })
		defer t.Stop()
	}
	tick := clk.NewTicker(waitPollInterval)
	defer tick.Stop()

	// why says what is still missing, for the final error; counted is the
	// alive count at the last successful poll, first seen at seenAt.
	why := fmt.Sprintf("no answer from the agent at %s yet", c.Socket())
	counted, seenAt := -1, time.Time{}
	said := "" // the last progress line
	say := func(line string) {
		if line != said {
			fmt.Fprintf(progress, "farmhand wait: %s\n", line)
			said = line
		}
	}
	for {
		alive, lastChange, err := pollWait(pollCtx, c, g)
		switch {
		case err == nil:
			now := clk.Now()
			if alive != counted {
				counted, seenAt = alive, now
			}
			// Agents report when their view last changed; without that, fall
			// back on how long this command has seen the same count.
			since := lastChange
			if since.IsZero() {
				since = seenAt
			}
			var done bool
			done, why = g.check(alive, now.Sub(since))
			say(g.progress(alive, done) + timeLeft(done, timeout, clk.Since(start)))
			if done {
				return nil
			}
		case pollCtx.Err() != nil:
			// The timeout or an interrupt cut the call short; reported below.
		case errors.Is(err, client.ErrNotRunning) || errors.Is(err, client.ErrTimeout):
			why = err.Error()
			say(fmt.Sprintf("waiting for the agent at %s to answer", c.Socket()) + timeLeft(false, timeout, clk.Since(start)))
		default:
			return err
		}
		select {
		case <-pollCtx.Done():
			if errors.Is(context.Cause(pollCtx), errWaitTimeout) {
				return fmt.Errorf("timed out after %s: %s", timeout, why)
			}
			return fmt.Errorf("interrupted after %s: %s", clk.Since(start).Round(time.Millisecond), why)
		case <-tick.Chan():
		}
	}
}

// errWaitTimeout is the cancellation cause when -timeout expires.
var errWaitTimeout = errors.New("wait timed out")

// pollWait returns the number of alive members matching g and when the
// agent's view last changed. A draining member does not count: it is going
// away (a spot or Auto Scaling notice), so it is no capacity to wait for. Members is read before Status, so a change
// between the two calls shows as a later LastChange, never a missed one.
func pollWait(ctx context.Context, c *client.Client, g waitGoal) (alive int, lastChange time.Time, err error) {
	ms, err := c.Members(ctx, client.Filter{Status: string(membership.StatusAlive), Role: g.Role})
	if err != nil {
		return 0, time.Time{}, err
	}
	st, err := c.Status(ctx)
	if err != nil {
		return 0, time.Time{}, err
	}
	return len(ms), st.LastChange, nil
}

// check reports whether alive members with a view unchanged for stableFor
// meet g, and otherwise what is missing.
func (g waitGoal) check(alive int, stableFor time.Duration) (done bool, missing string) {
	if alive < g.Min {
		return false, g.count(alive)
	}
	if stableFor < g.Stable {
		return false, fmt.Sprintf("%s, but the view changed %s ago (want it stable for %s)",
			g.count(alive), stableFor.Round(time.Millisecond), g.Stable)
	}
	return true, ""
}

// progress is the progress line for alive members; done says g is met.
func (g waitGoal) progress(alive int, done bool) string {
	switch {
	case done && g.Stable > 0:
		return fmt.Sprintf("%s, view stable for %s: ready", g.count(alive), g.Stable)
	case done:
		return g.count(alive) + ": ready"
	case alive >= g.Min:
		return fmt.Sprintf("%s; waiting for the view to be stable for %s", g.count(alive), g.Stable)
	}
	return g.count(alive)
}

// count says "3 of 5 members alive (role=worker)".
func (g waitGoal) count(alive int) string {
	s := fmt.Sprintf("%d of %d members alive", alive, g.Min)
	if g.Role != "" {
		s += fmt.Sprintf(" (role=%s)", g.Role)
	}
	return s
}

// timeLeft is "; 4m31s left" while a timeout runs, else empty.
func timeLeft(done bool, timeout, elapsed time.Duration) string {
	if done || timeout <= 0 {
		return ""
	}
	return fmt.Sprintf("; %s left", max(timeout-elapsed, 0).Round(time.Second))
}
