package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/farmhand/farmhand/agent/client"
	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed"
)

const usage = `farmhand-testbed: a whole EC2 farm on this machine (S3, EC2 and IMDS
emulators, every instance a real farmhand agent process)

usage: farmhand-testbed VERB -dir DIR [args]

  up -nodes N [-coordinator] [-netns] [-s3-endpoint URL -s3-bucket NAME
     [-s3-create-bucket [-s3-keep-bucket]]]
     [-boot-delay 5s-15s] [-spot [-interruption stop]] [-bin FARMHAND]
                         start a farm; runs in the foreground until Ctrl-C.
                         The instances run the farmhand binary -bin, default
                         $FARMHAND_BIN, else the farmhand next to this program
  demo -nodes N          up, plus a live view of the membership as it forms
  status [-format table|json]
  crash ID...            the machine dies: agent SIGKILLed, EC2 status impaired
  stop ID...             StopInstances (the agent stops gracefully; the instance
                         keeps its id, address and data directory)
  start ID...            StartInstances: the same instance boots again
  reboot ID...           RebootInstances: the agent restarts, EC2 says running
  interrupt ID... [-action terminate|stop|hibernate] [-notice 2m]
                         Spot interruption: IMDS spot/instance-action says so at
                         once, EC2 carries the action out when the notice is up
  rebalance ID...        IMDS events/recommendations/rebalance for a Spot Instance
  asg-terminate ID... [-notice 2m]
                         the instance's Auto Scaling group terminates it: IMDS
                         autoscaling/target-lifecycle-state says Terminated at
                         once, the instance is terminated when the notice is up
  kill-agent ID...       only the agent dies; EC2 says the machine is healthy
  pause ID... / resume ID...   SIGSTOP / SIGCONT the agent
  partition IDS... -- IDS...   cut the two sides apart (needs -netns)
  heal                   remove all partitions
  loss PERCENT           drop PERCENT% of every instance's outgoing packets,
                         UDP and TCP (needs -netns; 0 ends it)
  s3 down|up             the embedded S3 answers 503 SlowDown / recovers
  ec2 throttle on|off    every EC2 call fails with RequestLimitExceeded
  launch [-count N] [-subnet ID] [-ip ADDR] [-spot [-interruption stop]] [-asg NAME]
                         RunInstances N more instances (-ip: at that address,
                         e.g. a terminated instance's, which EC2 reuses; -asg:
                         owned by that Auto Scaling group)
  clean                  clean up after a testbed that was killed

With -s3-endpoint the agents use an S3 server of yours. Its credentials come
from FARMHAND_TESTBED_AWS_ACCESS_KEY_ID and FARMHAND_TESTBED_AWS_SECRET_ACCESS_KEY
(and FARMHAND_TESTBED_AWS_SESSION_TOKEN), or else from the standard
AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN). up checks
the endpoint, the bucket and the credentials before it launches anything.
-s3-create-bucket creates the bucket first and removes it at teardown, unless
-s3-keep-bucket; a bucket that already existed is never removed.
`

// run dispatches args to a verb and returns the process exit code.
func run(ctx context.Context, env *cliEnv, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(env.Stderr, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return 0
	}
	verb, rest := args[0], args[1:]
	fs := newFlagSet(verb, env)
	dir := fs.String("dir", "", "testbed directory (required)")
	switch verb {
	case "up", "demo":
		return testbedUp(ctx, env, fs, dir, verb == "demo", rest)
	case "status":
		format := fs.String("format", "table", "table or json")
		if _, code, ok := parseTestbedFlags(env, fs, dir, rest); !ok {
			return code
		}
		return testbedStatus(ctx, env, *dir, *format)
	case "clean":
		if _, code, ok := parseTestbedFlags(env, fs, dir, rest); !ok {
			return code
		}
		done, err := testbed.Clean(ctx, *dir)
		if err != nil {
			errorf(env, fs.Name(), "%v", err)
			return exitFail
		}
		for _, d := range done {
			fmt.Fprintln(env.Stdout, d)
		}
		fmt.Fprintf(env.Stdout, "clean: %d things removed\n", len(done))
		return 0
	case "crash", "stop", "start", "reboot", "kill-agent", "pause", "resume", "rebalance", "interrupt", "asg-terminate":
		var r testbed.Request
		if verb == "interrupt" {
			fs.StringVar(&r.Action, "action", "", "terminate, stop or hibernate (default: the instance's interruption behaviour)")
		}
		if verb == "interrupt" || verb == "asg-terminate" {
			fs.Func("notice", "how long before the action its notice comes (default 2m)", func(v string) error {
				r.Notice = v
				_, err := time.ParseDuration(v)
				return err
			})
		}
		ids, code, ok := parseTestbedFlags(env, fs, dir, rest)
		if !ok {
			return code
		}
		if len(ids) == 0 || slices.Contains(ids, "--") {
			errorf(env, fs.Name(), "name at least one instance id (see 'farmhand-testbed status -dir %s')", *dir)
			return exitUsage
		}
		r.IDs = ids
		return testbedControl(ctx, env, *dir, verb, r)
	case "partition":
		pos, code, ok := parseTestbedFlags(env, fs, dir, rest)
		if !ok {
			return code
		}
		a, b, ok := splitSides(pos)
		if !ok {
			errorf(env, fs.Name(), "want: partition IDS... -- IDS... (two non-empty sides)")
			return exitUsage
		}
		return testbedControl(ctx, env, *dir, verb, testbed.Request{IDs: a, Other: b})
	case "heal":
		if _, code, ok := parseTestbedFlags(env, fs, dir, rest); !ok {
			return code
		}
		return testbedControl(ctx, env, *dir, verb, testbed.Request{})
	case "loss":
		pos, code, ok := parseTestbedFlags(env, fs, dir, rest)
		if !ok {
			return code
		}
		pct, err := strconv.Atoi(strings.TrimSuffix(strings.Join(pos, ""), "%"))
		if len(pos) != 1 || err != nil || pct < 0 || pct > 100 {
			errorf(env, "testbed loss", "want: loss PERCENT (0 to 100; 0 ends the loss)")
			return exitUsage
		}
		return testbedControl(ctx, env, *dir, verb, testbed.Request{Percent: pct})
	case "s3":
		pos, code, ok := parseTestbedFlags(env, fs, dir, rest)
		if !ok {
			return code
		}
		if len(pos) != 1 || (pos[0] != "down" && pos[0] != "up") {
			errorf(env, fs.Name(), "want: s3 down|up")
			return exitUsage
		}
		return testbedControl(ctx, env, *dir, "s3", testbed.Request{On: pos[0] == "down"})
	case "ec2":
		pos, code, ok := parseTestbedFlags(env, fs, dir, rest)
		if !ok {
			return code
		}
		if len(pos) != 2 || pos[0] != "throttle" || (pos[1] != "on" && pos[1] != "off") {
			errorf(env, fs.Name(), "want: ec2 throttle on|off")
			return exitUsage
		}
		return testbedControl(ctx, env, *dir, "ec2-throttle", testbed.Request{On: pos[1] == "on"})
	case "launch":
		count := fs.Int("count", 1, "how many instances")
		subnet := fs.String("subnet", "", "subnet id (default: EC2 picks)")
		ip := fs.String("ip", "", "private address to ask for (-count 1)")
		spot := fs.Bool("spot", false, "launch Spot Instances")
		interruption := fs.String("interruption", "", "Spot interruption behaviour: terminate (default), stop or hibernate")
		asg := fs.String("asg", "", "launch as this Auto Scaling group (tag aws:autoscaling:groupName)")
		if _, code, ok := parseTestbedFlags(env, fs, dir, rest); !ok {
			return code
		}
		return testbedControl(ctx, env, *dir, "launch", testbed.Request{Count: *count, Subnet: *subnet, IP: *ip, Spot: *spot, Action: *interruption, ASG: *asg})
	default:
		errorf(env, "farmhand-testbed", "unknown verb %q\n%s", verb, usage)
		return exitUsage
	}
}

// parseTestbedFlags parses flags that may come before, between or after
// positional ids (crash -dir D i-1 and crash i-1 -dir D both work) and
// returns the positionals. "--" is kept as a positional: it separates the
// two sides of a partition, it does not end the flags.
func parseTestbedFlags(env *cliEnv, fs *flag.FlagSet, dir *string, args []string) (pos []string, code int, ok bool) {
	for len(args) > 0 {
		if args[0] == "--" {
			pos = append(pos, "--")
			args = args[1:]
			continue
		}
		// Parse up to the next "--" only, so the flag package never sees
		// (and swallows) it.
		seg := args
		if i := slices.Index(args, "--"); i >= 0 {
			seg = args[:i]
		}
		if code, ok := parseFlags(fs, seg); !ok {
			return nil, code, false
		}
		if fs.NArg() == 0 {
			args = args[len(seg):]
			continue
		}
		// The first positional of the segment; flags may follow it.
		pos = append(pos, fs.Arg(0))
		args = args[len(seg)-fs.NArg()+1:]
	}
	if *dir == "" {
		errorf(env, fs.Name(), "-dir is required (the directory given to 'farmhand-testbed up')")
		return nil, exitUsage, false
	}
	return pos, 0, true
}

func splitSides(args []string) (a, b []string, ok bool) {
	for i, s := range args {
		if s == "--" {
			return args[:i], args[i+1:], i > 0 && i < len(args)-1
		}
	}
	return nil, nil, false
}

func testbedControl(ctx context.Context, env *cliEnv, dir, verb string, r testbed.Request) int {
	resp, err := testbed.Control(ctx, dir, verb, r)
	if err != nil {
		errorf(env, "farmhand-testbed "+verb, "%v", err)
		return exitFail
	}
	if len(resp.IDs) > 0 {
		fmt.Fprintf(env.Stdout, "%s: %s\n", verb, strings.Join(resp.IDs, " "))
	} else {
		fmt.Fprintf(env.Stdout, "%s: done\n", verb)
	}
	return 0
}

func testbedUp(ctx context.Context, env *cliEnv, fs *flag.FlagSet, dir *string, demo bool, args []string) int {
	cfg := testbed.DefaultConfig()
	fs.IntVar(&cfg.Nodes, "nodes", cfg.Nodes, "instances to launch")
	fs.BoolVar(&cfg.Coordinator, "coordinator", demo, "run the coordinator (replaces dead instances)")
	fs.BoolVar(&cfg.Netns, "netns", false, "one network namespace per instance (root only; enables partitions)")
	fs.StringVar(&cfg.S3Endpoint, "s3-endpoint", "", "external S3-compatible endpoint (default: embedded S3)")
	fs.StringVar(&cfg.S3Bucket, "s3-bucket", "", "bucket on the external S3")
	fs.BoolVar(&cfg.S3CreateBucket, "s3-create-bucket", false, "create -s3-bucket at start and remove it (with its objects) at teardown")
	fs.BoolVar(&cfg.UI, "ui", demo, "serve the farm page (ui = true) from the first instance's agent")
	fs.BoolVar(&cfg.S3KeepBucket, "s3-keep-bucket", false, "with -s3-create-bucket: keep the bucket at teardown")
	fs.StringVar(&cfg.Cluster, "cluster", cfg.Cluster, "cluster name")
	fs.StringVar(&cfg.Profile, "profile", cfg.Profile, "agents' gossip profile: local (fast) or lan")
	fs.StringVar(&cfg.LogLevel, "agent-log-level", cfg.LogLevel, "agents' log level")
	fs.BoolVar(&cfg.Spot, "spot", false, "launch the farm as Spot Instances")
	fs.StringVar(&cfg.SpotInterruption, "interruption", "", "Spot interruption behaviour: terminate (default), stop or hibernate")
	fs.Var(&cfg.BootDelay, "boot-delay", "pending time of each boot: 10s, or a uniform spread 5s-15s (default 0)")
	fs.StringVar(&cfg.Bin, "bin", testbed.DefaultBin(), "the farmhand binary the instances run (default $FARMHAND_BIN, else the farmhand next to this program)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	uiSet := false
	fs.Visit(func(f *flag.Flag) { uiSet = uiSet || f.Name == "ui" })
	if cfg.Netns && !uiSet {
		cfg.UI = false // the demo's default page needs loopback mode
	}
	if *dir == "" {
		errorf(env, fs.Name(), "-dir is required: the testbed keeps its state and instance folders there")
		return exitUsage
	}
	cfg.Dir = *dir
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "testbed", Output: env.Stderr, Level: hclog.Info})
	if err := testbed.CheckFarmhandBinary(cfg.Bin); err != nil {
		errorf(env, fs.Name(), "%v", err)
		return exitFail
	}

	start := time.Now()
	tb, err := testbed.Start(ctx, cfg)
	if err != nil {
		errorf(env, fs.Name(), "%v", err)
		return exitFail
	}
	defer func() {
		fmt.Fprintln(env.Stderr, "tearing down the farm...")
		if err := tb.Close(); err != nil {
			errorf(env, "farmhand-testbed", "teardown: %v", err)
		}
		fmt.Fprintln(env.Stderr, "farm torn down: no agent, namespace or socket left behind")
	}()
	st := tb.State()
	fmt.Fprintf(env.Stdout, "testbed up: %d instances of cluster %q in %s (state in %s)\n",
		len(st.Instances), st.Cluster, cfg.Dir, filepath.Join(cfg.Dir, testbed.StateFile))
	if !demo {
		<-ctx.Done()
		return 0
	}
	self, err := os.Executable()
	if err != nil {
		self = "farmhand-testbed"
	}
	printDemoHelp(env.Stdout, shownPath(cfg.Bin), shownPath(self), cfg.Dir, tb.State())
	liveView(ctx, env.Stdout, tb, start)
	return 0
}

// printDemoHelp prints commands to try, with the paths of the binaries
// this farm really runs, so that each can be pasted as printed.
func printDemoHelp(w io.Writer, farmhand, self, dir string, st *testbed.State) {
	sock, page := "", ""
	if len(st.Instances) > 0 {
		sock, page = st.Instances[0].Socket, st.Instances[0].Page
	}
	if page != "" {
		fmt.Fprintf(w, "\nFarm page (refreshes itself; watch a crash and its replacement): %s\n", page)
	}
	id := "ID"
	if len(st.Instances) > 1 {
		id = st.Instances[1].ID
	}
	fmt.Fprintf(w, `
Try, in another terminal:
  FARMHAND_SOCKET=%s %s members
  FARMHAND_SOCKET=%s %s info
  %s status -dir %s
  %s crash %s -dir %s     # the coordinator replaces it
Ctrl-C here tears the farm down.

`, sock, farmhand, sock, farmhand, self, dir, self, id, dir)
}

// shownPath is path relative to the working directory when it lies below
// it (bin/farmhand after make demo), else absolute.
func shownPath(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	wd, err := os.Getwd()
	if err != nil {
		return abs
	}
	rel, err := filepath.Rel(wd, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return abs
	}
	return rel
}

// liveView prints a line whenever what the farm sees changes: for each
// running instance, how many members its agent sees alive.
func liveView(ctx context.Context, w io.Writer, tb *testbed.Testbed, start time.Time) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	last := ""
	formed, everFormed := false, false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		st := tb.State()
		var parts []string
		running := 0
		for _, in := range st.Instances {
			if in.State == "terminated" {
				continue
			}
			n := -1
			if in.Agent == "running" {
				running++
				n = aliveSeen(ctx, in.Socket)
			}
			parts = append(parts, fmt.Sprintf("%s:%s/%s", shortID(in.ID), in.Agent, countText(n)))
		}
		line := strings.Join(parts, "  ")
		if line != last {
			fmt.Fprintf(w, "%6.1fs  %s\n", time.Since(start).Seconds(), line)
			last = line
		}
		full := running > 0 && allSee(ctx, st, running)
		if full && !formed {
			what := "farm formed"
			if everFormed {
				what = "views agree again"
			}
			fmt.Fprintf(w, "%6.1fs  %s: every agent sees %d alive\n", time.Since(start).Seconds(), what, running)
			everFormed = true
		}
		formed = full
	}
}

// allSee reports whether every running agent sees exactly n alive.
func allSee(ctx context.Context, st *testbed.State, n int) bool {
	for _, in := range st.Instances {
		if in.Agent == "running" && aliveSeen(ctx, in.Socket) != n {
			return false
		}
	}
	return true
}

// aliveSeen asks the agent on socket how many members it sees alive; -1 if
// it does not answer.
func aliveSeen(ctx context.Context, socket string) int {
	qctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	ms, err := client.New(socket).Members(qctx, client.Filter{Status: string(membership.StatusAlive)})
	if err != nil {
		return -1
	}
	return len(ms)
}

func countText(n int) string {
	if n < 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

func shortID(id string) string {
	if len(id) > 8 {
		return "i-" + id[len(id)-6:]
	}
	return id
}

func testbedStatus(ctx context.Context, env *cliEnv, dir, format string) int {
	st, err := testbed.ReadState(dir)
	if err != nil {
		errorf(env, "farmhand-testbed status", "%v", err)
		return exitFail
	}
	switch format {
	case "json":
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			errorf(env, "farmhand-testbed status", "writing JSON: %v", err)
			return exitFail
		}
		return 0
	case "table":
	default:
		errorf(env, "farmhand-testbed status", "-format %q: want table or json", format)
		return exitUsage
	}
	fmt.Fprintf(env.Stdout, "cluster %s  S3 %s (bucket %s)  EC2 %s\n\n", st.Cluster, st.S3.Endpoint, st.S3.Bucket, st.EC2.Endpoint)
	tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tIP\tEC2 STATE\tAGENT\tPID\tSEES ALIVE\tSOCKET\tNOTICES")
	for _, in := range st.Instances {
		sees := "-"
		if in.Agent == "running" {
			sees = countText(aliveSeen(ctx, in.Socket))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", in.ID, in.IP, in.State, in.Agent, in.PID, sees, in.Socket, strings.Join(in.Notices, "; "))
	}
	tw.Flush()
	return 0
}
