package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/johannesboyne/gofakes3"

	"github.com/farmhand/farmhand/agent/client"
	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// Coordinator timings of the tests: short, so that a scenario takes
// seconds. The testbed's own defaults fill the rest (interval 1s,
// lease_ttl 6s).
const (
	deadGrace        = 2 * time.Second
	newInstanceGrace = 4 * time.Second
	fastHCL          = `dead_grace = "2s"
new_instance_grace = "4s"
max_replacements = 5`
)

// Bounds of the waits: generous, so a loaded CI machine is slow, not red.
const (
	formTimeout = 60 * time.Second
	healTimeout = 60 * time.Second
	// quiet is how long the "nothing happens" scenarios watch: several
	// dead_grace, and several ticks past the first verdict.
	quiet = 5 * deadGrace
)

// farmOpts describes a test farm.
type farmOpts struct {
	nodes int
	hcl   string // CoordinatorHCL; fastHCL when empty
	netns bool
	// noCoordinator runs the agents without the coordinator.
	noCoordinator bool
	// gossipKeys, when set, are written to the farm's key file (primary
	// first), which every agent reads as gossip.key_file.
	gossipKeys [][]byte
	// groupHCL, registryHCL and extraHCL are testbed.Config's GroupHCL,
	// RegistryHCL and ExtraHCL.
	groupHCL, registryHCL, extraHCL string
	// profile is the agents' gossip profile; "local" when empty.
	profile string
	// logLevel is the agents' log level; "debug" when empty.
	logLevel string
	// ui serves the farm page from the first instance (testbed.Config.UI).
	ui bool
	// formBy bounds the wait for the farm to form, from the moment every
	// agent process runs; formTimeout when zero.
	formBy time.Duration
	// formAt is how many members the formed farm has; nodes when zero (a
	// coordinator that grows the farm from its seed makes more).
	formAt int
	// spot launches the farm as Spot Instances (testbed.Config.Spot).
	spot bool
	// instanceHCL is testbed.Config.InstanceHCL: each instance's own
	// config, e.g. render blocks into its folder.
	instanceHCL func(id, dir string) string
}

// farm is a testbed of real agent processes, all running the coordinator
// unless noCoordinator.
type farm struct {
	t   *testing.T
	ctx context.Context
	tb  *testbed.Testbed
	dir string
	// keyFile is the agents' gossip key file ("" without gossipKeys).
	keyFile string
}

// skipShort skips end-to-end tests under -short (make test-short).
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test with real agent processes: skipped with -short")
	}
}

// startFarm starts a farm and waits until it has formed: every agent sees
// every other alive, one coordinator leads, and the instances are older
// than new_instance_grace, so that a crash is judged at once.
func startFarm(t *testing.T, o farmOpts) *farm {
	t.Helper()
	skipShort(t)
	if o.hcl == "" {
		o.hcl = fastHCL
	}
	if o.profile == "" {
		o.profile = "local"
	}
	if o.logLevel == "" {
		o.logLevel = "debug"
	}
	if o.formBy == 0 {
		o.formBy = formTimeout
	}
	// Not t.TempDir: unix socket paths must stay under 108 bytes.
	dir, err := os.MkdirTemp("", "fh-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "testbed.log"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &farm{t: t, ctx: ctx, dir: dir}
	t.Cleanup(func() {
		cancel()
		if f.tb != nil {
			if err := f.tb.Close(); err != nil {
				t.Errorf("testbed teardown: %v", err)
			}
		}
		logf.Close()
		if t.Failed() {
			f.dumpLogs()
		}
		os.RemoveAll(dir)
	})
	if len(o.gossipKeys) > 0 {
		f.keyFile = filepath.Join(dir, "gossip.keys")
		f.writeKeys(o.gossipKeys...)
	}
	cfg := testbed.Config{
		Dir:            dir,
		Nodes:          o.nodes,
		Coordinator:    !o.noCoordinator,
		CoordinatorHCL: o.hcl,
		GroupHCL:       o.groupHCL,
		RegistryHCL:    o.registryHCL,
		ExtraHCL:       o.extraHCL,
		GossipKeyFile:  f.keyFile,
		Netns:          o.netns,
		Bin:            testutil.FarmhandBinary(t),
		Profile:        o.profile,
		LogLevel:       o.logLevel,
		UI:             o.ui,
		Spot:           o.spot,
		InstanceHCL:    o.instanceHCL,
		Logger:         hclog.New(&hclog.LoggerOptions{Name: "testbed", Output: logf, Level: hclog.Debug}),
	}
	f.tb, err = testbed.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	formAt := o.nodes
	if o.formAt > 0 {
		formAt = o.formAt
	}
	f.eventually(o.formBy, func(r *testutil.R) {
		if err := AllSeeAlive(ctx, f.tb, formAt); err != nil {
			r.Fatalf("farm not formed: %v", err)
		}
		if o.noCoordinator {
			return
		}
		if _, _, err := Leader(ctx, f.tb); err != nil {
			r.Fatalf("no single leader: %v", err)
		}
		for _, in := range f.tb.EC2().Instances() {
			if age := time.Since(in.LaunchTime); age < newInstanceGrace {
				r.Fatalf("instance %s is %s old, younger than new_instance_grace", in.ID, age)
			}
		}
	})
	return f
}

// writeKeys replaces the farm's gossip key file with keys, primary first,
// atomically: an agent reloading meanwhile reads the old file or the new.
func (f *farm) writeKeys(keys ...[]byte) {
	f.t.Helper()
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(membership.EncodeKey(k) + "\n")
	}
	tmp := f.keyFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Rename(tmp, f.keyFile); err != nil {
		f.t.Fatal(err)
	}
}

// dumpLogs logs the tail of the testbed's and every agent's log.
func (f *farm) dumpLogs() {
	logs, _ := filepath.Glob(filepath.Join(f.dir, "instances", "*", "agent.log"))
	for _, p := range append([]string{filepath.Join(f.dir, "testbed.log")}, logs...) {
		f.t.Logf("--- %s (last 40 lines)\n%s", p, tail(p, 40))
	}
}

func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, slices.Clone(sc.Bytes()))
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// eventually polls f until it passes or timeout ends.
func (f *farm) eventually(timeout time.Duration, cond func(r *testutil.R)) {
	f.t.Helper()
	if err := testutil.Poll(timeout, 50*time.Millisecond, cond); err != nil {
		f.t.Fatal(err)
	}
}

// consistently checks cond every 100ms for d and fails at the first
// violation.
func (f *farm) consistently(d time.Duration, cond func() error) {
	f.t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := cond(); err != nil {
			f.t.Fatal(err)
		}
		if time.Now().After(deadline) {
			return
		}
		<-tick.C
	}
}

// instance returns the testbed's record of id.
func (f *farm) instance(id string) testbed.InstanceState {
	f.t.Helper()
	in, err := f.tb.State().Instance(id)
	if err != nil {
		f.t.Fatal(err)
	}
	return in
}

// client is the local API client of id's agent.
func (f *farm) client(id string) *client.Client { return client.New(f.instance(id).Socket) }

// leader waits for the single coordinator that may act.
func (f *farm) leader() (testbed.InstanceState, coordinator.Status) {
	f.t.Helper()
	var in testbed.InstanceState
	var st coordinator.Status
	f.eventually(formTimeout, func(r *testutil.R) {
		var err error
		if in, st, err = Leader(f.ctx, f.tb); err != nil {
			r.Fatalf("%v", err)
		}
	})
	return in, st
}

// others returns the running instances other than except, launch order.
func (f *farm) others(except ...string) []string {
	var ids []string
	for _, in := range Running(f.tb) {
		if !slices.Contains(except, in.ID) {
			ids = append(ids, in.ID)
		}
	}
	return ids
}

// member returns how observer's agent sees id.
func (f *farm) member(observer, id string) (membership.Member, error) {
	view, err := View(f.ctx, f.instance(observer).Socket)
	if err != nil {
		return membership.Member{}, err
	}
	m, ok := view[id]
	if !ok {
		return m, errors.New(observer + " does not see " + id)
	}
	return m, nil
}

// waitDeadFor waits until observer has seen each of ids dead for at least d.
func (f *farm) waitDeadFor(observer string, d time.Duration, ids ...string) {
	f.t.Helper()
	f.eventually(healTimeout+d, func(r *testutil.R) {
		for _, id := range ids {
			m, err := f.member(observer, id)
			if err != nil {
				r.Fatalf("%v", err)
			}
			if m.Status != membership.StatusDead || time.Since(m.Since) < d {
				r.Fatalf("%s sees %s %s since %s, want dead for %s", observer, id, m.Status, m.Since.Format(time.StampMilli), d)
			}
		}
	})
}

// history is every decision id's coordinator keeps in memory.
func (f *farm) history(id string) []coordinator.Decision {
	f.t.Helper()
	ds, err := History(f.ctx, f.instance(id).Socket)
	if err != nil {
		f.t.Fatalf("history of %s: %v", id, err)
	}
	return ds
}

// findDecision returns the first decision in ds matching action, code (any
// when "") and instance (any when "").
func findDecision(ds []coordinator.Decision, action coordinator.Action, code, instance string) (coordinator.Decision, bool) {
	for _, d := range ds {
		if d.Action == action && (code == "" || d.Code == code) && (instance == "" || d.Instance == instance) {
			return d, true
		}
	}
	return coordinator.Decision{}, false
}

// launchedInstances counts the instances EC2 holds (any state).
func (f *farm) launchedInstances() int { return len(f.tb.EC2().Instances()) }

// s3Key is an object key of this farm's cluster in the registry bucket.
func (f *farm) s3Key(rel string) string {
	st := f.tb.State()
	return st.S3.Prefix + "/" + st.Cluster + "/" + rel
}

// object reads an object of the embedded S3; nil when it does not exist.
func (f *farm) object(rel string) []byte {
	f.t.Helper()
	st := f.tb.State()
	obj, err := f.tb.S3().Backend().GetObject(st.S3.Bucket, f.s3Key(rel), nil)
	if gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey) {
		return nil
	}
	if err != nil {
		f.t.Fatalf("S3 %s: %v", f.s3Key(rel), err)
	}
	defer obj.Contents.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(obj.Contents); err != nil {
		f.t.Fatalf("S3 %s: %v", f.s3Key(rel), err)
	}
	return buf.Bytes()
}

// hasRecord reports whether id has a registry record: a key under
// nodes/<id>/ (the rest of the key is its AZ and address).
func (f *farm) hasRecord(id string) bool {
	f.t.Helper()
	prefix := f.s3Key("nodes/" + id + "/")
	list, err := f.tb.S3().Backend().ListBucket(f.tb.State().S3.Bucket, &gofakes3.Prefix{HasPrefix: true, Prefix: prefix}, gofakes3.ListBucketPage{})
	if err != nil {
		f.t.Fatalf("S3 listing %s: %v", prefix, err)
	}
	return len(list.Contents) > 0
}

// ledger is the part of the coordinator's S3 ledger the tests read.
type ledger struct {
	Epoch     uint64                 `json:"epoch"`
	Holder    string                 `json:"holder"`
	Batches   []coordinator.Batch    `json:"batches"`
	Decisions []coordinator.Decision `json:"decisions"`
}

// ledger reads the coordinator's ledger from S3 (zero when absent).
func (f *farm) ledger() ledger {
	f.t.Helper()
	var l ledger
	if data := f.object("ledger.json"); data != nil {
		if err := json.Unmarshal(data, &l); err != nil {
			f.t.Fatalf("ledger.json: %v", err)
		}
	}
	return l
}

// cli runs the farmhand CLI and returns its stdout; it fails the test when
// the command fails.
func (f *farm) cli(args ...string) []byte {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(f.ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testutil.FarmhandBinary(f.t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		f.t.Fatalf("farmhand %v: %v\n%s", args, err, stderr.Bytes())
	}
	return out
}
