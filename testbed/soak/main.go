// Command soak runs a testbed farm under random chaos for a fixed time and
// checks farmhand's safety invariants; `make soak` runs it (not in CI).
//
// Chaos: crashes (the coordinator should replace), agent pauses, S3
// outages, stops followed by starts (a maintenance stop, shorter than
// stopped_grace), spot instances launched (on addresses EC2 reuses) and
// interrupted, and (with -netns, as root) partitions that are healed. The
// invariants checked at the end:
//   - no agent process died that soak did not kill;
//   - every healed partition converged back into one cluster;
//   - the coordinator never replaced a machine that soak did not crash or
//     interrupt;
//   - no crashed or interrupted machine was replaced twice;
//   - every machine soak stopped and started again still runs (the
//     coordinator neither terminated nor replaced it);
//   - the coordinator topped up no more often than soak interrupted (a
//     stop, a crash or a pause never makes it launch besides a
//     one-for-one replacement).
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/farmhand/farmhand/agent/client"
	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed"
	"github.com/farmhand/farmhand/testbed/ec2emu"
	"github.com/farmhand/farmhand/testbed/testutil"
)

func main() {
	nodes := flag.Int("nodes", 20, "instances")
	dur := flag.Duration("duration", 10*time.Minute, "how long to run the chaos")
	every := flag.Duration("every", 20*time.Second, "mean time between chaos events")
	netns := flag.Bool("netns", os.Geteuid() == 0, "network namespaces (root): enables partitions")
	dir := flag.String("dir", "", "testbed directory (default: a temp dir)")
	out := flag.String("out", "SOAK.md", "report file")
	bin := flag.String("bin", "bin/farmhand", "farmhand binary")
	seed := flag.Uint64("seed", uint64(time.Now().UnixNano()), "random seed (printed, for replays)")
	boot := ec2emu.Delay{Min: 5 * time.Second, Max: 15 * time.Second}
	flag.Var(&boot, "boot-delay", "how long each launch or start stays pending: a time or a uniform spread MIN-MAX (EC2 boots in seconds, not milliseconds)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r := &run{rng: rand.New(rand.NewPCG(*seed, 1)), seed: *seed, log: hclog.New(&hclog.LoggerOptions{Name: "soak", Level: hclog.Info})}
	code := r.main(ctx, *nodes, *dur, *every, *netns, boot, *dir, *bin, *out)
	os.Exit(code)
}

type run struct {
	rng  *rand.Rand
	seed uint64
	log  hclog.Logger
	tb   *testbed.Testbed

	crashed     map[string]bool // ids soak crashed
	killedByUs  map[string]bool // ids whose agent soak stopped on purpose
	stopped     map[string]bool // ids soak stopped and started again
	spot        map[string]bool // spot instances soak launched
	interrupted map[string]bool // spot instances soak interrupted
	reused      int             // launches that got a terminated instance's address
	events      []string
	failures    []string
	partitions  int
	healed      int
}

func (r *run) note(format string, args ...any) {
	line := fmt.Sprintf("%s  %s", time.Now().Format(time.TimeOnly), fmt.Sprintf(format, args...))
	r.events = append(r.events, line)
	r.log.Info(line)
}

func (r *run) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.failures = append(r.failures, msg)
	r.log.Error(msg)
}

func (r *run) main(ctx context.Context, nodes int, dur, every time.Duration, netns bool, boot ec2emu.Delay, dir, bin, out string) int {
	if dir == "" {
		d, err := os.MkdirTemp("", "farmhand-soak-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(d)
		dir = d
	}
	cfg := testbed.DefaultConfig()
	cfg.Dir, cfg.Nodes, cfg.Coordinator, cfg.Netns, cfg.Bin, cfg.BootDelay = dir, nodes, true, netns, bin, boot
	cfg.Logger = r.log.Named("testbed")
	cfg.LogLevel = "warn"
	start := time.Now()
	tb, err := testbed.Start(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "soak: %v\n", err)
		return 1
	}
	r.tb = tb
	defer tb.Close()
	r.crashed, r.killedByUs = map[string]bool{}, map[string]bool{}
	r.stopped, r.spot, r.interrupted = map[string]bool{}, map[string]bool{}, map[string]bool{}
	r.note("farm of %d started (netns=%v, boot delay %s, seed %d)", nodes, netns, boot, r.seed)
	if !r.waitConverged(ctx, 2*time.Minute) {
		r.fail("the farm never formed")
	}

	deadline := time.Now().Add(dur)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		wait := time.Duration(r.rng.Int64N(int64(2 * every)))
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		if ctx.Err() != nil {
			break
		}
		r.chaos(ctx, netns)
		r.checkAgents()
	}
	// Let the farm settle: every partition healed, S3 up; it must converge.
	if netns {
		_ = tb.Heal(ctx)
	}
	_ = tb.SetS3Down(false)
	if !r.waitConverged(ctx, 3*time.Minute) {
		r.fail("the farm did not converge after the chaos stopped")
	}
	r.checkReplacements()
	r.checkAgents()
	if err := r.report(out, nodes, dur, netns, time.Since(start)); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	if len(r.failures) > 0 {
		fmt.Fprintf(os.Stderr, "soak: %d invariant(s) broken; see %s\n", len(r.failures), out)
		return 1
	}
	fmt.Printf("soak: clean; report in %s\n", out)
	return 0
}

// running returns instances whose agent runs, in launch order.
func (r *run) running() []testbed.InstanceState {
	var out []testbed.InstanceState
	for _, in := range r.tb.State().Instances {
		if in.State == "running" && in.Agent == "running" {
			out = append(out, in)
		}
	}
	return out
}

func (r *run) chaos(ctx context.Context, netns bool) {
	live := r.running()
	if len(live) < 3 {
		return
	}
	pick := live[r.rng.IntN(len(live))]
	switch n := r.rng.IntN(15); {
	case n < 3: // a machine dies; the coordinator should replace it
		if len(r.crashed) > len(live)/5 {
			return // stay below the freeze threshold: we test replacement, not the freeze
		}
		r.crashed[pick.ID] = true
		r.killedByUs[pick.ID] = true
		r.note("crash %s", pick.ID)
		if err := r.tb.Crash(pick.ID); err != nil {
			r.fail("crash %s: %v", pick.ID, err)
		}
	case n < 6: // a pause shorter than the suspicion timeout, then resume
		d := time.Duration(500+r.rng.IntN(2500)) * time.Millisecond
		r.note("pause %s for %s", pick.ID, d)
		if err := r.tb.Pause(pick.ID); err != nil {
			r.fail("pause %s: %v", pick.ID, err)
			return
		}
		time.Sleep(d) // the pause itself is the fault being injected
		if err := r.tb.Resume(pick.ID); err != nil {
			r.fail("resume %s: %v", pick.ID, err)
		}
	case n < 8: // an S3 outage
		d := time.Duration(5+r.rng.IntN(25)) * time.Second
		r.note("S3 down for %s", d)
		_ = r.tb.SetS3Down(true)
		time.Sleep(d) // the outage's length is the fault being injected
		_ = r.tb.SetS3Down(false)
	case n < 10: // a maintenance stop, then a start: nothing may be replaced
		if r.spot[pick.ID] {
			return // a one-time spot request cannot be stopped
		}
		d := time.Duration(3+r.rng.IntN(20)) * time.Second
		r.note("stop %s (%s) for %s", pick.ID, pick.IP, d)
		r.stopped[pick.ID] = true
		if err := r.tb.Stop(ctx, pick.ID); err != nil {
			r.fail("stop %s: %v", pick.ID, err)
			return
		}
		time.Sleep(d) // the stop's length is the fault being injected
		if err := r.tb.Start(ctx, pick.ID); err != nil {
			r.fail("start %s: %v", pick.ID, err)
			return
		}
		if in, _ := r.tb.EC2().Instance(pick.ID); in.PrivateIP != pick.IP {
			r.fail("%s started at %s, not at its address %s", pick.ID, in.PrivateIP, pick.IP)
		}
	case n < 13: // a spot instance: launch one, or interrupt one
		r.spotChaos(ctx)
	default: // a partition, healed after a while (netns only)
		if !netns {
			return
		}
		sort.Slice(live, func(i, j int) bool { return r.rng.IntN(2) == 0 })
		cut := 1 + r.rng.IntN(len(live)/2)
		var a, b []string
		for i, in := range live {
			if i < cut {
				a = append(a, in.ID)
			} else {
				b = append(b, in.ID)
			}
		}
		d := time.Duration(5+r.rng.IntN(20)) * time.Second
		r.note("partition %d|%d for %s", len(a), len(b), d)
		if err := r.tb.Partition(ctx, a, b); err != nil {
			r.fail("partition: %v", err)
			return
		}
		r.partitions++
		time.Sleep(d) // the partition's length is the fault being injected
		if err := r.tb.Heal(ctx); err != nil {
			r.fail("heal: %v", err)
			return
		}
		if r.waitConverged(ctx, 2*time.Minute) {
			r.healed++
			r.note("partition healed and converged")
		} else {
			r.fail("a healed %d|%d partition did not converge within 2m", len(a), len(b))
		}
	}
}

// spotChaos launches a spot instance (EC2 may hand it a terminated
// instance's address) when none runs, or at random while fewer than two
// do, and otherwise interrupts one with a short notice (terminate).
func (r *run) spotChaos(ctx context.Context) {
	var spots []string
	for _, in := range r.running() {
		if r.spot[in.ID] && !r.interrupted[in.ID] {
			spots = append(spots, in.ID)
		}
	}
	if len(spots) == 0 || len(spots) < 2 && r.rng.IntN(2) == 0 {
		gone := map[string]bool{}
		for _, in := range r.tb.EC2().Instances() {
			if in.State == "terminated" {
				gone[in.PrivateIP] = true
			}
		}
		ids, err := r.tb.LaunchWith(ctx, testbed.LaunchOptions{Count: 1, Spot: true})
		if err != nil {
			r.fail("launch a spot instance: %v", err)
			return
		}
		in, _ := r.tb.EC2().Instance(ids[0])
		r.spot[ids[0]] = true
		reuse := ""
		if gone[in.PrivateIP] {
			r.reused++
			reuse = ", a terminated instance's address"
		}
		r.note("spot %s launched at %s%s", ids[0], in.PrivateIP, reuse)
		return
	}
	id := spots[r.rng.IntN(len(spots))]
	notice := time.Duration(5+r.rng.IntN(20)) * time.Second
	r.interrupted[id], r.killedByUs[id] = true, true
	if _, err := r.tb.Interrupt(id, "terminate", notice); err != nil {
		r.fail("interrupt %s: %v", id, err)
		return
	}
	r.note("spot interruption of %s, terminate in %s", id, notice)
}

// waitConverged polls until every running agent sees exactly the running
// agents alive.
func (r *run) waitConverged(ctx context.Context, timeout time.Duration) bool {
	err := testutil.Poll(timeout, time.Second, func(p *testutil.R) {
		live := r.running()
		if len(live) == 0 {
			p.Errorf("no agent running")
		}
		for _, in := range live {
			qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			ms, err := client.New(in.Socket).Members(qctx, client.Filter{Status: string(membership.StatusAlive)})
			cancel()
			if err != nil || len(ms) != len(live) {
				p.Fatalf("%s sees %d of %d alive (%v)", in.ID, len(ms), len(live), err)
			}
		}
	})
	return err == nil && ctx.Err() == nil
}

// checkAgents reports agents that died without soak killing them.
func (r *run) checkAgents() {
	for _, in := range r.tb.State().Instances {
		if (in.Agent == "exited" || in.Agent == "killed") && !r.killedByUs[in.ID] && in.State == "running" {
			r.killedByUs[in.ID] = true // report once
			r.fail("agent %s died on its own (state %s); see %s", in.ID, in.Agent, in.Log)
		}
	}
}

// checkReplacements: every replacement names a machine soak crashed or
// interrupted, no machine is replaced twice, every machine stopped and
// started again still runs, and top-ups are no more than interruptions.
func (r *run) checkReplacements() {
	byReplaced := map[string][]string{}
	topUps := 0
	holders := map[string]int{} // address -> instances that held it
	for _, in := range r.tb.EC2().Instances() {
		holders[in.PrivateIP]++
		if rep := in.Tags["farmhand:replaces"]; rep != "" {
			for _, id := range strings.Split(rep, ",") {
				byReplaced[id] = append(byReplaced[id], in.ID)
			}
		} else if in.Tags["farmhand:batch"] != "" {
			topUps++
		}
	}
	for id := range r.stopped {
		in, _ := r.tb.EC2().Instance(id)
		if !r.crashed[id] && !r.interrupted[id] && in.State != "running" {
			r.fail("%s, stopped and started again, is %s in EC2: the coordinator did not wait stopped_grace", id, in.State)
		}
	}
	if topUps > len(r.interrupted) {
		r.fail("the coordinator topped up %d instance(s) for %d interruption(s): a stop, a crash or a pause made it launch besides a replacement", topUps, len(r.interrupted))
	}
	for id, news := range byReplaced {
		if !r.crashed[id] && !r.interrupted[id] {
			r.fail("the coordinator replaced %s, which was never crashed or interrupted (replacement %v)", id, news)
		}
		if len(news) > 1 {
			r.fail("%s was replaced %d times: %v", id, len(news), news)
		}
	}
	for id := range r.crashed {
		if len(byReplaced[id]) == 0 {
			r.note("note: crashed %s has no replacement yet (rate limit or dead_grace)", id)
		}
	}
	reusedAddrs := 0
	for _, n := range holders {
		if n > 1 {
			reusedAddrs++
		}
	}
	r.note("replacements: %d for %d crashes and %d interruptions; %d top-ups; %d stops and starts; %d spot launches (%d on a terminated instance's address); %d addresses held by more than one instance; RunInstances calls %d",
		len(byReplaced), len(r.crashed), len(r.interrupted), topUps, len(r.stopped), len(r.spot), r.reused, reusedAddrs, r.tb.EC2().CallCount("RunInstances"))
}

func (r *run) report(path string, nodes int, dur time.Duration, netns bool, took time.Duration) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# farmhand soak report\n\n%s, %d instances, chaos for %s (took %s), netns=%v, seed %d\n\n",
		time.Now().UTC().Format(time.RFC3339), nodes, dur, took.Round(time.Second), netns, r.seed)
	if len(r.failures) == 0 {
		fmt.Fprintf(&b, "**Result: clean.** No agent died on its own, every healed partition converged (%d of %d), the coordinator replaced only crashed or interrupted machines and none twice, every stopped machine (%d) came back and was never terminated, and no top-up was made besides interruptions (%d).\n\n", r.healed, r.partitions, len(r.stopped), len(r.interrupted))
	} else {
		fmt.Fprintf(&b, "**Result: %d invariant(s) broken.**\n\n", len(r.failures))
		for _, f := range r.failures {
			fmt.Fprintf(&b, "- %s\n", f)
		}
		b.WriteString("\n")
	}
	b.WriteString("## Events\n\n```\n")
	for _, e := range r.events {
		b.WriteString(e + "\n")
	}
	b.WriteString("```\n")
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
