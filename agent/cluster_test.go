package agent

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/go-hclog"

	"github.com/farmhand/farmhand/agent/client"
	"github.com/farmhand/farmhand/agent/config"
	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed/s3emu"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// farm is an in-process cluster of agents sharing one embedded S3.
type farm struct {
	t      *testing.T
	s3     *s3emu.Server
	url    string // the S3 endpoint
	bucket string
	log    *s3Log
}

func newFarm(t *testing.T) *farm {
	t.Helper()
	srv, err := s3emu.New(s3emu.Config{Bucket: "farm"})
	if err != nil {
		t.Fatal(err)
	}
	f := &farm{t: t, s3: srv, bucket: "farm", log: &s3Log{}}
	ts := httptest.NewServer(f.log.wrap(srv))
	t.Cleanup(ts.Close)
	t.Cleanup(func() { f.log.setHung(false) }) // before ts.Close
	f.url = ts.URL
	return f
}

// s3Log is the order in which the farm's S3 received its requests, each as
// "METHOD /path?query". A hook, when set, sees each request before S3
// answers it, and may hold it. While hung, S3 answers nothing until the
// client gives up or setHung(false).
type s3Log struct {
	mu     sync.Mutex
	reqs   []string
	hook   func(r *http.Request)
	unhang chan struct{} // not nil while hung
}

func (l *s3Log) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.reqs = append(l.reqs, r.Method+" "+r.URL.RequestURI())
		hook, unhang := l.hook, l.unhang
		l.mu.Unlock()
		if unhang != nil {
			// Read the body first: only then does the server notice a
			// client that hangs up (and end r's context).
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			select {
			case <-r.Context().Done():
				return
			case <-unhang:
			}
		}
		if hook != nil {
			hook(r)
		}
		h.ServeHTTP(w, r)
	})
}

// setHung makes S3 hang (accept requests, answer none) or recover.
func (l *s3Log) setHung(hung bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case hung && l.unhang == nil:
		l.unhang = make(chan struct{})
	case !hung && l.unhang != nil:
		close(l.unhang)
		l.unhang = nil
	}
}

// setHook makes hook see every request from now on.
func (l *s3Log) setHook(hook func(r *http.Request)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hook = hook
}

// requests returns the requests so far.
func (l *s3Log) requests() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.reqs)
}

// s3Client is a client of the farm's S3 that, as the agent's own, makes
// one attempt per call: the registry does the retrying.
func (f *farm) s3Client() *s3.Client {
	return s3.New(s3.Options{
		Retryer:      aws.NopRetryer{},
		Region:       "us-east-1",
		BaseEndpoint: aws.String(f.url),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}

// testAgent is one in-process agent and the goroutine running it.
type testAgent struct {
	*Agent
	cfg    *config.Config
	cancel context.CancelFunc
	// exited is closed when Run has returned err.
	exited chan struct{}
	err    error
	once   sync.Once
}

// config returns a valid config for one agent named name on its own
// loopback address.
func (f *farm) config(name, cluster string) *config.Config {
	t := f.t
	ip := testutil.TakeIP(t)
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Cluster = cluster
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.Socket = filepath.Join(dir, "farmhand.sock")
	cfg.LogLevel = "warn"
	cfg.LeaveTimeout = 3 * time.Second
	cfg.Role = "worker"
	cfg.Identity.InstanceID = name
	cfg.Identity.PrivateIP = ip.String()
	cfg.Identity.AvailabilityZone = "us-east-1a"
	cfg.Identity.Region = "us-east-1"
	cfg.Identity.InstanceType = "t3.micro"
	cfg.Identity.AMIID = "ami-0123456789abcdef0"
	cfg.Gossip.Profile = "local"
	cfg.Gossip.Insecure = true
	cfg.Gossip.Port = 7946
	cfg.Registry.Bucket = f.bucket
	cfg.Registry.Endpoint = f.url
	cfg.Registry.PathStyle = true
	cfg.Registry.Region = "us-east-1"
	return cfg
}

// start runs an agent with cfg until the test ends.
func (f *farm) start(cfg *config.Config) *testAgent {
	f.t.Helper()
	return f.startWith(cfg, Options{})
}

// startWith is start with opts, once the agent is ready.
func (f *farm) startWith(cfg *config.Config, opts Options) *testAgent {
	t := f.t
	t.Helper()
	ta := f.run(cfg, opts)
	select {
	case <-ta.Ready():
	case <-ta.exited:
		t.Fatalf("agent %s exited during start: %v", cfg.Identity.InstanceID, ta.err)
	case <-time.After(30 * time.Second):
		t.Fatalf("agent %s not ready after 30s", cfg.Identity.InstanceID)
	}
	return ta
}

// run runs an agent with cfg and opts until the test ends, without waiting
// for it to be ready; a nil Logger logs warnings to the test log and a nil
// S3 is the farm's S3 client.
func (f *farm) run(cfg *config.Config, opts Options) *testAgent {
	t := f.t
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = hclog.New(&hclog.LoggerOptions{Name: cfg.Identity.InstanceID, Level: hclog.Warn, Output: testutil.LogWriter(t)})
	}
	if opts.S3 == nil {
		opts.S3 = f.s3Client()
	}
	a, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ta := &testAgent{Agent: a, cfg: cfg, cancel: cancel, exited: make(chan struct{})}
	go func() {
		defer close(ta.exited)
		ta.err = a.Run(ctx)
	}()
	t.Cleanup(func() { ta.stop(t) })
	return ta
}

// stop leaves gracefully and waits for Run to return; safe to call twice.
func (ta *testAgent) stop(t *testing.T) {
	ta.once.Do(func() {
		ta.cancel()
		select {
		case <-ta.exited:
			if ta.err != nil {
				t.Errorf("agent %s: Run: %v", ta.cfg.Identity.InstanceID, ta.err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("agent %s did not stop within 15s", ta.cfg.Identity.InstanceID)
		}
	})
}

func (ta *testAgent) client() *client.Client { return client.New(ta.cfg.Socket) }

// waitAlive waits until every agent in as sees want alive members.
func waitAlive(t *testing.T, want int, as ...*testAgent) {
	t.Helper()
	testutil.Run(t, 30*time.Second, func(r *testutil.R) {
		for _, a := range as {
			ms, err := a.client().Members(context.Background(), client.Filter{Status: string(membership.StatusAlive)})
			if err != nil {
				r.Fatalf("%s: %v", a.cfg.Identity.InstanceID, err)
			}
			if len(ms) != want {
				r.Fatalf("%s sees %d alive, want %d", a.cfg.Identity.InstanceID, len(ms), want)
			}
		}
	})
}

// statusOf returns the status of member name in a's view ("" if absent).
func statusOf(t *testing.T, a *testAgent, name string) membership.Status {
	ms, err := a.client().Members(context.Background(), client.Filter{})
	if err != nil {
		t.Fatalf("%s: %v", a.cfg.Identity.InstanceID, err)
	}
	for _, m := range ms {
		if m.Name == name {
			return m.Status
		}
	}
	return ""
}

// recordExists reports whether name has a record key under
// farmhand/<cluster>/nodes/<name>/.
func (f *farm) recordExists(cluster, name string) bool {
	out, err := f.s3Client().ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{
		Bucket: aws.String(f.bucket),
		Prefix: aws.String("farmhand/" + cluster + "/nodes/" + name + "/"),
	})
	return err == nil && len(out.Contents) > 0
}

func TestFiveAgentsConverge(t *testing.T) {
	f := newFarm(t)
	var as []*testAgent
	for i := 0; i < 5; i++ {
		as = append(as, f.start(f.config(nodeName(i), "c1")))
	}
	waitAlive(t, 5, as...)

	st, err := as[4].client().Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.State != StateAlive || st.Cluster != "c1" || st.Name != nodeName(4) {
		t.Fatalf("status = %+v", st)
	}
	if st.S3["put"] < 1 || st.S3["list"] < 1 {
		t.Fatalf("S3 counters should show the registration and the listing: %v", st.S3)
	}
	for i := range as {
		if !f.recordExists("c1", nodeName(i)) {
			t.Fatalf("record of %s missing", nodeName(i))
		}
	}
}

func TestGracefulLeaveShowsLeftAndDeletesRecord(t *testing.T) {
	f := newFarm(t)
	a := f.start(f.config(nodeName(0), "c1"))
	b := f.start(f.config(nodeName(1), "c1"))
	c := f.start(f.config(nodeName(2), "c1"))
	waitAlive(t, 3, a, b, c)

	if _, err := c.client().Leave(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.stop(t)
	testutil.Run(t, 20*time.Second, func(r *testutil.R) {
		for _, x := range []*testAgent{a, b} {
			if s := statusOf(t, x, c.cfg.Identity.InstanceID); s != membership.StatusLeft {
				r.Fatalf("%s sees %s as %q, want left", x.cfg.Identity.InstanceID, c.cfg.Identity.InstanceID, s)
			}
		}
	})
	if f.recordExists("c1", c.cfg.Identity.InstanceID) {
		t.Fatal("the leaver's registry record is still there")
	}
	if _, err := os.Stat(c.cfg.Socket); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket left behind after shutdown: %v", err)
	}
}

func TestTwoClustersInOneBucketStayApart(t *testing.T) {
	f := newFarm(t)
	a1 := f.start(f.config(nodeName(0), "blue"))
	a2 := f.start(f.config(nodeName(1), "blue"))
	b1 := f.start(f.config(nodeName(2), "green"))
	b2 := f.start(f.config(nodeName(3), "green"))
	waitAlive(t, 2, a1, a2, b1, b2)
	// Even an explicit join across the label fails.
	addr := net.JoinHostPort(b1.cfg.Identity.PrivateIP, "7946")
	if n, _ := a1.cluster.Join(context.Background(), []string{addr}); n != 0 {
		t.Fatalf("blue joined green through %s", addr)
	}
	waitAlive(t, 2, a1, a2, b1, b2)
}

func TestWrongKeyCannotJoin(t *testing.T) {
	f := newFarm(t)
	key := func(b byte) [][]byte { return [][]byte{[]byte(strings.Repeat(string(rune('a'+b)), 32))} }
	ca := f.config(nodeName(0), "c1")
	ca.Gossip.Insecure, ca.Gossip.Keys = false, key(0)
	cb := f.config(nodeName(1), "c1")
	cb.Gossip.Insecure, cb.Gossip.Keys = false, key(0)
	cc := f.config(nodeName(2), "c1")
	cc.Gossip.Insecure, cc.Gossip.Keys = false, key(1)
	a, b := f.start(ca), f.start(cb)
	waitAlive(t, 2, a, b)
	c := f.start(cc) // ready, but alone: nobody answered its key
	// Not only at first: c keeps retrying (boot rounds, isolation
	// rediscovery) and must stay alone, and a and b undisturbed, over a
	// window of several such rounds.
	hold(t, 5*time.Second, func() error {
		if err := aliveExactly(1, c); err != nil {
			return err
		}
		return aliveExactly(2, a, b)
	})
}

func TestStoppedWithoutLeaveIsSeenDead(t *testing.T) {
	f := newFarm(t)
	a := f.start(f.config(nodeName(0), "c1"))
	b := f.start(f.config(nodeName(1), "c1"))
	c := f.start(f.config(nodeName(2), "c1"))
	waitAlive(t, 3, a, b, c)

	// The node stops answering gossip without a leave message: what a
	// kill -9 or a dead machine looks like to its peers.
	if err := c.cluster.Shutdown(); err != nil {
		t.Fatal(err)
	}
	testutil.Run(t, 30*time.Second, func(r *testutil.R) {
		for _, x := range []*testAgent{a, b} {
			if s := statusOf(t, x, c.cfg.Identity.InstanceID); s != membership.StatusDead {
				r.Fatalf("%s sees %s as %q, want dead", x.cfg.Identity.InstanceID, c.cfg.Identity.InstanceID, s)
			}
		}
	})
}

func TestRestartWhileS3DownRejoinsFromSnapshot(t *testing.T) {
	f := newFarm(t)
	a := f.start(f.config(nodeName(0), "c1"))
	b := f.start(f.config(nodeName(1), "c1"))
	cfgC := f.config(nodeName(2), "c1")
	c := f.start(cfgC)
	waitAlive(t, 3, a, b, c)
	testutil.Run(t, 20*time.Second, func(r *testutil.R) {
		peers, err := readSnapshot(cfgC.DataDir, "c1")
		if err != nil || len(peers) != 2 {
			r.Fatalf("snapshot of c has %d peers (err %v), want 2", len(peers), err)
		}
	})
	c.stop(t)
	waitAlive(t, 2, a, b)

	f.s3.SetDown(true)
	before := f.s3.Counts().Total()
	c2 := f.start(cfgC) // same instance, same data dir; S3 answers 503 to everything
	waitAlive(t, 3, a, b, c2)
	if st, _ := c2.client().Status(context.Background()); st.State != StateAlive {
		t.Fatalf("restarted agent state = %q, want alive", st.State)
	}
	if got := f.s3.Counts().Total() - before; got == 0 {
		t.Fatal("the restarted agent should still be trying to register while S3 is down")
	}
	f.s3.SetDown(false)
	testutil.Run(t, 60*time.Second, func(r *testutil.R) {
		if !f.recordExists("c1", cfgC.Identity.InstanceID) {
			r.Fatalf("record not re-registered after S3 came back")
		}
	})
}

func nodeName(i int) string { return "i-0000000000000000" + string(rune('a'+i)) }

// A first boot while S3 is down: the registry cannot say who is there, but
// retry_join names a known node, so the newcomer joins the cluster at once
// instead of running alone until S3 comes back.
func TestRetryJoinJoinsAKnownNodeWhileS3IsDown(t *testing.T) {
	f := newFarm(t)
	a := f.start(f.config(nodeName(0), "c1"))
	f.s3.SetDown(true)
	cb := f.config(nodeName(1), "c1")
	cb.RetryJoin = []string{a.cfg.Identity.PrivateIP, cb.Identity.PrivateIP} // its own address is skipped
	b := f.start(cb)
	waitAlive(t, 2, a, b)
	if st, err := b.client().Status(context.Background()); err != nil || st.State != StateAlive {
		t.Fatalf("newcomer status %+v (%v), want alive", st, err)
	}
	if f.recordExists("c1", nodeName(1)) {
		t.Fatal("S3 is down: the newcomer cannot have registered")
	}
	f.s3.SetDown(false)
	testutil.Run(t, 60*time.Second, func(r *testutil.R) {
		if !f.recordExists("c1", nodeName(1)) {
			r.Fatalf("the newcomer has not registered after S3 came back")
		}
	})
}
