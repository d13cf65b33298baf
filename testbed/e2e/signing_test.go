package e2e

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/bootstrap/awscall"
	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// logSkipped is the registry's warning for an object it will not use.
var logSkipped = []byte("skipping unusable registry object")

// With registry signing required, a record planted in the bucket by
// someone without the signing key (forged with another key, or unsigned)
// is skipped and logged, and a joiner never dials the address it names;
// a correctly signed record is dialed (the control), and the joiner joins
// the real cluster.
func TestSignedRegistryRefusesForgedRecords(t *testing.T) {
	t.Parallel()
	const n = 3
	key := newGossipKey(t) // any 32 random bytes make an HMAC key
	f := startFarm(t, farmOpts{nodes: n, noCoordinator: true,
		registryHCL: fmt.Sprintf("signing_key = %q\nrequire_signature = true", membership.EncodeKey(key))})

	planted := []struct {
		name string
		key  []byte // nil: unsigned
		want string // skip reason in the log; "" for the control
	}{
		{"i-0f0f0000000000001", newGossipKey(t), string(bootstrap.SkipBadSignature)},
		{"i-0f0f0000000000002", nil, string(bootstrap.SkipUnsigned)},
		{"i-0f0f0000000000003", key, ""},
	}
	decoys := make([]*decoy, len(planted))
	for i, p := range planted {
		decoys[i] = startDecoy(t)
		f.plantRecord(p.key, bootstrap.Record{Name: p.name, Addr: decoys[i].ip, Port: decoys[i].port,
			AZ: "us-east-1a", StartedAt: time.Now()})
	}

	ids, err := f.tb.Launch(f.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	joiner := f.instance(ids[0])
	f.eventually(formTimeout, func(r *testutil.R) {
		if err := AllSeeAlive(f.ctx, f.tb, n+1); err != nil {
			r.Fatalf("the new agent %s has not joined: %v", joiner.ID, err)
		}
		if decoys[2].conns.Load() == 0 {
			r.Fatalf("the new agent has not dialed the correctly signed record's address (the control)")
		}
	})
	log := readLog(t, joiner.Log)
	for i, p := range planted[:2] {
		if got := countLines(log, logSkipped, []byte(f.s3Key("nodes/"+p.name)), []byte("reason="+p.want)); got != 1 {
			t.Errorf("the new agent logged %d %q warnings about %s with reason %s, want 1:\n%s", got, logSkipped, p.name, p.want, tail(joiner.Log, 30))
		}
		if c := decoys[i].conns.Load(); c != 0 {
			t.Errorf("the new agent dialed the %s record %s %d time(s), want never", p.want, p.name, c)
		}
	}
	if got := countLines(log, logSkipped, []byte(planted[2].name)); got != 0 {
		t.Errorf("the correctly signed record %s was skipped:\n%s", planted[2].name, tail(joiner.Log, 30))
	}
}

// plantRecord writes rec into the farm's registry as someone with write
// access to the bucket would: signed with key, or unsigned when key is nil.
func (f *farm) plantRecord(key []byte, rec bootstrap.Record) {
	f.t.Helper()
	st := f.tb.State()
	hc := awscall.NewHTTPClient("")
	defer hc.CloseIdleConnections()
	api, err := bootstrap.NewS3Client(f.ctx, bootstrap.S3Config{Region: st.S3.Region, Endpoint: st.S3.Endpoint, PathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("forger", "forger-secret", ""), HTTPClient: hc})
	if err != nil {
		f.t.Fatal(err)
	}
	cfg := bootstrap.DefaultRegistryConfig()
	cfg.Bucket, cfg.Prefix, cfg.Cluster, cfg.SigningKey = st.S3.Bucket, st.S3.Prefix, st.Cluster, key
	reg, err := bootstrap.NewRegistry(api, cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := reg.Register(f.ctx, rec); err != nil {
		f.t.Fatalf("planting record %s: %v", rec.Name, err)
	}
}

// decoy is a TCP listener on a fresh loopback address that counts the
// connections it accepts and closes them.
type decoy struct {
	ip    string
	port  int
	conns atomic.Int64
}

// startDecoy starts a decoy that stops with the test.
func startDecoy(t *testing.T) *decoy {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: testutil.TakeIP(t)})
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	d := &decoy{ip: addr.IP.String(), port: addr.Port}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err == nil {
				d.conns.Add(1)
				c.Close()
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return d
}
