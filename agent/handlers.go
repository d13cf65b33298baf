package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/farmhand/farmhand/agent/config"
	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/agent/render"
	"github.com/farmhand/farmhand/membership"
)

// Event handlers, in Serf's convention: a handler block names events and a
// shell command. Each run gets the event in FARMHAND_EVENT and this node's
// name, role and tags in FARMHAND_SELF_NAME, FARMHAND_SELF_ROLE and
// FARMHAND_TAG_<KEY>, and the affected members on stdin, one per line:
// name, address, role and tags (k=v,k=v), separated by tabs, as Serf
// writes them. A coordinator decision is one JSON line on stdin instead,
// with FARMHAND_DECISION_ACTION and FARMHAND_DECISION_CODE.
const (
	EventMemberJoin          = "member-join"
	EventMemberLeave         = "member-leave"
	EventMemberFailed        = "member-failed"
	EventMemberUpdate        = "member-update"
	EventMemberReap          = "member-reap"
	EventMemberDraining      = "member-draining"
	EventCoordinatorDecision = "coordinator-decision"
)

// handlerQueue bounds the runs waiting for one handler. Member events of
// the same kind that arrive while a run waits join it (Serf coalesces
// member events the same way), so the queue fills only when events of
// different kinds alternate faster than the handler runs; past it, events
// are dropped, logged and counted.
const handlerQueue = 64

// handlerOutputMax bounds the output of a run kept for the log.
const handlerOutputMax = 4 << 10

// handlerSelf is this node as the handlers' environment describes it.
type handlerSelf struct {
	name, cluster string
	tags          map[string]string
}

// handlerRun is one run of a handler waiting in its queue.
type handlerRun struct {
	event    string
	members  []membership.Member   // member events
	decision *coordinator.Decision // coordinator-decision
}

// handlerPart runs the event handlers. It hears the member view's events
// from its subscription and the coordinator's decisions from decided, and
// queues a run for every handler block that names the event. Each handler
// has one worker goroutine, so a handler runs one at a time, in the order
// of its events; handlers do not wait for one another. The blocks are read
// afresh for every event and run, so a reload applies at once. A failing
// handler is logged and counted and stops nothing.
type handlerPart struct {
	handlers func() []config.HandlerConfig
	self     func() handlerSelf
	metrics  *eventMetrics
	logger   hclog.Logger

	mu      sync.Mutex
	ctx     context.Context // ends at stop; nil before start
	cancel  context.CancelFunc
	workers map[string]*handlerWorker
	wg      sync.WaitGroup
	listen  *task
	stopped bool
}

// handlerWorker is one handler's queue; its goroutine runs it.
type handlerWorker struct {
	name    string
	queue   []handlerRun // guarded by handlerPart.mu
	dropped bool         // a drop was logged since the queue last emptied
	wake    chan struct{}
}

func newHandlerPart(handlers func() []config.HandlerConfig, self func() handlerSelf, m *eventMetrics, logger hclog.Logger) *handlerPart {
	return &handlerPart{handlers: handlers, self: self, metrics: m, logger: logger, workers: map[string]*handlerWorker{}}
}

// start listens to cluster's view events (nil: only decisions) until stop.
// It does not wait for READY: as in Serf, the members learned at boot are
// member-join events (coalesced into few runs).
func (p *handlerPart) start(cluster *membership.Cluster) {
	ctx, cancel := context.WithCancel(context.Background())
	p.mu.Lock()
	p.ctx, p.cancel = ctx, cancel
	p.mu.Unlock()
	var events <-chan membership.Event
	unsubscribe := func() {}
	if cluster != nil {
		events, unsubscribe = cluster.Subscribe(256)
	}
	p.listen = goTask(func(tctx context.Context) {
		defer unsubscribe()
		for {
			select {
			case <-tctx.Done():
				return
			case ev, ok := <-events:
				if !ok {
					return
				}
				if name := memberEventName(ev); name != "" {
					p.dispatch(handlerRun{event: name, members: []membership.Member{ev.Member}})
				}
			}
		}
	})
}

// decided queues a coordinator-decision run (coordinator.Config.OnDecision).
func (p *handlerPart) decided(d coordinator.Decision) {
	p.dispatch(handlerRun{event: EventCoordinatorDecision, decision: &d})
}

// memberEventName maps a view event to a handler event: a join (or a
// member back from dead or left) is member-join, a death member-failed, a
// graceful leave member-leave, a drain member-draining, new tags or
// address member-update, a reaped member member-reap. Suspicion is local
// to this agent and runs nothing.
func memberEventName(ev membership.Event) string {
	switch ev.Type {
	case membership.EventJoin:
		return EventMemberJoin
	case membership.EventUpdate:
		return EventMemberUpdate
	case membership.EventReap:
		return EventMemberReap
	}
	switch ev.Member.Status {
	case membership.StatusDead:
		return EventMemberFailed
	case membership.StatusLeft:
		return EventMemberLeave
	case membership.StatusDraining:
		if ev.Prev != membership.StatusSuspect {
			return EventMemberDraining
		}
	case membership.StatusAlive:
		if ev.Prev == membership.StatusDead || ev.Prev == membership.StatusLeft {
			return EventMemberJoin
		}
	}
	return ""
}

// dispatch queues r for every handler that takes its event. It never
// blocks: gossip and the coordinator call it.
func (p *handlerPart) dispatch(r handlerRun) {
	hs := p.handlers()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctx == nil || p.stopped {
		return
	}
	for _, h := range hs {
		if len(h.Events) > 0 && !slices.Contains(h.Events, r.event) {
			continue
		}
		w := p.workerLocked(h.Name)
		if n := len(w.queue); n > 0 && w.queue[n-1].event == r.event && r.decision == nil {
			w.queue[n-1].members = mergeMembers(w.queue[n-1].members, r.members)
			continue
		}
		if len(w.queue) >= handlerQueue {
			p.metrics.handlerRan(h.Name, r.event, "dropped", 0)
			if !w.dropped {
				w.dropped = true
				p.logger.Warn("event handler is behind; dropping events until it catches up",
					"handler", h.Name, "event", r.event, "queued", len(w.queue))
			}
			continue
		}
		w.queue = append(w.queue, r)
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// mergeMembers adds more to ms, a member already there replaced by its
// newer entry.
func mergeMembers(ms, more []membership.Member) []membership.Member {
	for _, m := range more {
		i := slices.IndexFunc(ms, func(o membership.Member) bool { return o.Name == m.Name })
		if i >= 0 {
			ms[i] = m
		} else {
			ms = append(ms, m)
		}
	}
	return ms
}

// workerLocked returns the worker of handler name, starting it if needed.
func (p *handlerPart) workerLocked(name string) *handlerWorker {
	if w, ok := p.workers[name]; ok {
		return w
	}
	w := &handlerWorker{name: name, wake: make(chan struct{}, 1)}
	p.workers[name] = w
	ctx := p.ctx
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.work(ctx, w)
	}()
	return w
}

// work runs w's queue until ctx ends.
func (p *handlerPart) work(ctx context.Context, w *handlerWorker) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		}
		for {
			p.mu.Lock()
			if len(w.queue) == 0 {
				w.dropped = false
				p.mu.Unlock()
				break
			}
			r := w.queue[0]
			w.queue = w.queue[1:]
			p.mu.Unlock()
			// The block is read now: a reload since the event counts.
			hs := p.handlers()
			i := slices.IndexFunc(hs, func(h config.HandlerConfig) bool { return h.Name == w.name })
			if i < 0 {
				continue // the block was removed by a reload
			}
			p.run(ctx, hs[i], r)
			if ctx.Err() != nil {
				return
			}
		}
	}
}

// run runs one handler once, logging and counting the outcome.
func (p *handlerPart) run(ctx context.Context, h config.HandlerConfig, r handlerRun) {
	rctx, cancel := context.WithTimeout(ctx, h.Timeout)
	defer cancel()
	cmd := render.ShellCommand(rctx, h.Command)
	cmd.Env = append(os.Environ(), p.environ(r)...)
	cmd.Stdin = bytes.NewReader(r.stdin())
	out := &cappedBuffer{max: handlerOutputMax}
	cmd.Stdout, cmd.Stderr = out, out
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	log := p.logger.With("handler", h.Name, "event", r.event, "took", took.Round(time.Millisecond))
	failure := ""
	var exit *exec.ExitError
	switch {
	case err == nil:
		log.Debug("event handler ran", "output", out.String())
	case ctx.Err() != nil:
		log.Debug("event handler killed: the agent is stopping")
		return
	case errors.Is(rctx.Err(), context.DeadlineExceeded):
		failure = "timeout"
		log.Warn("event handler timed out and was killed", "timeout", h.Timeout, "output", out.String())
	case errors.As(err, &exit):
		failure = "exit"
		log.Warn("event handler failed", "exit_code", exit.ExitCode(), "output", out.String())
	default:
		failure = "start"
		log.Warn("event handler could not run", "error", err)
	}
	p.metrics.handlerRan(h.Name, r.event, failure, took.Seconds())
}

// environ is the run's environment beyond the agent's own.
func (p *handlerPart) environ(r handlerRun) []string {
	self := p.self()
	env := []string{
		"FARMHAND_EVENT=" + r.event,
		"FARMHAND_SELF_NAME=" + self.name,
		"FARMHAND_SELF_ROLE=" + self.tags["role"],
		"FARMHAND_CLUSTER=" + self.cluster,
	}
	for _, k := range slices.Sorted(maps.Keys(self.tags)) {
		env = append(env, "FARMHAND_TAG_"+envName(k)+"="+self.tags[k])
	}
	if d := r.decision; d != nil {
		env = append(env, "FARMHAND_DECISION_ACTION="+string(d.Action), "FARMHAND_DECISION_CODE="+d.Code)
	}
	return env
}

// envName is a tag key as an environment variable name: upper case, and
// any character but a letter, digit or '_' made '_'.
func envName(k string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			return r
		}
		return '_'
	}, k)
}

// stdin is the run's input: one line per member, sorted by name, as Serf
// writes it (name, address, role, tags k=v joined by ','; tab-separated);
// or the decision as one JSON line.
func (r handlerRun) stdin() []byte {
	var b bytes.Buffer
	if r.decision != nil {
		line, _ := json.Marshal(r.decision)
		b.Write(line)
		b.WriteByte('\n')
		return b.Bytes()
	}
	ms := slices.Clone(r.members)
	sort.Slice(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
	for _, m := range ms {
		var tags []string
		for _, k := range slices.Sorted(maps.Keys(m.Tags)) {
			tags = append(tags, k+"="+m.Tags[k])
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\n", m.Name, m.Addr, m.Tags["role"], strings.Join(tags, ","))
	}
	return b.Bytes()
}

// stop stops listening, kills the runs under way and drops the queued
// ones, waiting at most until ctx ends. Safe twice and before start.
func (p *handlerPart) stop(ctx context.Context) error {
	p.mu.Lock()
	p.stopped = true
	cancel := p.cancel
	p.mu.Unlock()
	if cancel != nil {
		cancel() // kills the runs under way
	}
	if err := p.listen.stop(ctx); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("event handlers still running: %w", ctx.Err())
	}
}

// cappedBuffer keeps the first max bytes written to it.
type cappedBuffer struct {
	mu  sync.Mutex
	max int
	b   bytes.Buffer
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.max - c.b.Len(); room > 0 {
		c.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (c *cappedBuffer) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.TrimSpace(c.b.String())
}

// decided hands a coordinator decision to the metrics and the handlers.
func (a *Agent) decided(d coordinator.Decision) {
	a.metrics.events.decided(d)
	a.handlers.decided(d)
}
