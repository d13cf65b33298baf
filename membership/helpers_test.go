package membership

import (
	"context"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/farmhand/farmhand/testbed/testutil"
	"github.com/hashicorp/go-hclog"
)

// settle is the deadline for gossip conditions on loopback.
const settle = 15 * time.Second

// testLogger logs to stderr at FARMHAND_TEST_LOG's level (e.g. debug),
// and discards otherwise. It never logs through t, because memberlist
// goroutines may still log briefly after a test has ended.
func testLogger(name string) hclog.Logger {
	lvl := os.Getenv("FARMHAND_TEST_LOG")
	if lvl == "" {
		return hclog.NewNullLogger()
	}
	return hclog.New(&hclog.LoggerOptions{Name: name, Level: hclog.LevelFromString(lvl), Output: os.Stderr})
}

// clusterName returns a label unique to the test, so that concurrently
// running test binaries can never merge.
func clusterName(t *testing.T) string {
	return strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()) + "-" + strconv.Itoa(os.Getpid())
}

// localConfig returns a DefaultLocalConfig on a fresh loopback address.
func localConfig(t *testing.T, name string) *Config {
	t.Helper()
	cfg := DefaultLocalConfig()
	cfg.Name = name
	cfg.BindAddr = testutil.TakeIP(t).String()
	cfg.BindPort = 0
	cfg.Cluster = clusterName(t)
	cfg.Tags = map[string]string{"role": "worker", "name": name}
	cfg.Logger = testLogger(name)
	return cfg
}

// start creates a Cluster that is shut down when the test ends.
func start(t *testing.T, cfg *Config) *Cluster {
	t.Helper()
	c, err := Create(cfg)
	if err != nil {
		t.Fatalf("Create(%s): %v", cfg.Name, err)
	}
	t.Cleanup(func() {
		if err := c.Shutdown(); err != nil {
			t.Errorf("Shutdown(%s): %v", cfg.Name, err)
		}
	})
	return c
}

// startN starts n nodes named prefix-i and joins nodes 1.. to node 0.
func startN(t *testing.T, prefix string, n int, mutate func(*Config)) []*Cluster {
	t.Helper()
	nodes := make([]*Cluster, n)
	for i := range nodes {
		cfg := localConfig(t, prefix+"-"+strconv.Itoa(i))
		if mutate != nil {
			mutate(cfg)
		}
		nodes[i] = start(t, cfg)
	}
	for _, c := range nodes[1:] {
		join(t, c, nodes[0])
	}
	waitAlive(t, nodes, n)
	return nodes
}

func join(t *testing.T, c, to *Cluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), settle)
	defer cancel()
	if n, err := c.Join(ctx, []string{addrOf(to)}); err != nil || n != 1 {
		t.Fatalf("%s Join(%s) = %d, %v; want 1, nil", c.LocalMember().Name, addrOf(to), n, err)
	}
}

func addrOf(c *Cluster) string {
	m := c.LocalMember()
	return net.JoinHostPort(m.Addr, strconv.Itoa(m.Port))
}

// waitAlive waits until every node sees exactly n members, all alive.
func waitAlive(t *testing.T, nodes []*Cluster, n int) {
	t.Helper()
	testutil.Run(t, settle, func(r *testutil.R) {
		for _, c := range nodes {
			ms := c.Members()
			alive := 0
			for _, m := range ms {
				if m.Status == StatusAlive {
					alive++
				}
			}
			if len(ms) != n || alive != n || c.NumAlive() != n {
				r.Fatalf("%s sees %d members, %d alive: %v; want %d alive", c.LocalMember().Name, len(ms), alive, ms, n)
			}
		}
	})
}

// waitStatus waits until every node in nodes sees name with status want.
func waitStatus(t *testing.T, nodes []*Cluster, name string, want Status) {
	t.Helper()
	testutil.Run(t, settle, func(r *testutil.R) {
		for _, c := range nodes {
			if got := statusOf(c, name); got != want {
				r.Fatalf("%s sees %s as %q, want %q", c.LocalMember().Name, name, got, want)
			}
		}
	})
}

// statusOf returns name's status in c's view, or "" when absent.
func statusOf(c *Cluster, name string) Status {
	for _, m := range c.Members() {
		if m.Name == name {
			return m.Status
		}
	}
	return ""
}

// recorder collects a subscription's events until the test ends.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func record(t *testing.T, c *Cluster) *recorder {
	t.Helper()
	ch, cancel := c.Subscribe(1024)
	rec := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range ch {
			rec.mu.Lock()
			rec.events = append(rec.events, ev)
			rec.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return rec
}

// statuses returns the statuses name moved to, in order.
func (r *recorder) statuses(name string) []Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Status
	for _, ev := range r.events {
		if ev.Member.Name == name && ev.Type == EventStatus {
			out = append(out, ev.Member.Status)
		}
	}
	return out
}

func (r *recorder) has(name string, typ EventType) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range r.events {
		if ev.Member.Name == name && ev.Type == typ {
			return true
		}
	}
	return false
}

func mustKey(t *testing.T) []byte {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func itoa(i int) string { return strconv.Itoa(i) }
