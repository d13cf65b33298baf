package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/farmhand/farmhand/agent/config"
	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// Garbage in the registry prefix never stops discovery: a new agent skips
// every bad object, joins the real members, logs each bad object once and
// counts every skip.
func TestGarbageInS3PrefixIsSkippedLoggedOnceAndCounted(t *testing.T) {
	f := newFarm(t)
	signed := func(name string) *config.Config {
		cfg := f.config(name, "c1")
		cfg.Registry.SigningKey = []byte("registry signing key for c1")
		cfg.Registry.RequireSignature = true
		return cfg
	}
	a := f.start(signed(nodeName(0)))
	b := f.start(signed(nodeName(1)))
	waitAlive(t, 2, a, b)

	// Fewer valid records than join_fanout: discovery reads every object.
	bad := f.writeGarbage(t, "c1")

	logs := &testutil.Buffer{}
	cfgC := signed(nodeName(2))
	c := f.startWith(cfgC, Options{Logger: hclog.New(&hclog.LoggerOptions{
		Name: cfgC.Identity.InstanceID, Level: hclog.Warn, Output: io.MultiWriter(logs, testutil.LogWriter(t)),
	})})
	waitAlive(t, 3, a, b, c)

	// Rediscover a few more times, as an isolated agent would: skips are
	// counted every time, logged only the first.
	const rounds = 3
	for range rounds {
		addrs, err := c.boot.discover(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(addrs) != 2 {
			t.Fatalf("discovery found %v, want the 2 real members", addrs)
		}
	}

	skipped := c.registry.Stats().Skipped
	for key, reason := range bad {
		if n := logs.CountLines("skipping unusable registry object", "key="+key+" ", "reason="+string(reason)); n != 1 {
			t.Errorf("%s (%s) logged %d times, want once:\n%s", key, reason, n, logs.String())
		}
	}
	want := map[bootstrap.SkipReason]int64{}
	for _, reason := range bad {
		want[reason] += rounds + 1 // the boot discovery and the rounds
	}
	for reason, n := range want {
		if skipped[reason] != n {
			t.Errorf("skipped[%s] = %d, want %d (all: %v)", reason, skipped[reason], n, skipped)
		}
	}
	if got := logs.CountLines("skipping unusable registry object"); got != len(bad) {
		t.Errorf("%d skip warnings for %d bad objects:\n%s", got, len(bad), logs.String())
	}

	// The metrics endpoint serves the same counts.
	reg := prometheus.NewRegistry()
	reg.MustRegister(&agentCollector{m: c.metrics})
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	metric := map[string]float64{}
	for _, fam := range families {
		if fam.GetName() != "farmhand_registry_skipped_total" {
			continue
		}
		for _, m := range fam.GetMetric() {
			metric[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	for reason, n := range want {
		if metric[string(reason)] != float64(n) {
			t.Errorf("farmhand_registry_skipped_total{reason=%q} = %v, want %d", reason, metric[string(reason)], n)
		}
	}
}

// writeGarbage writes bad objects under cluster's nodes/ prefix straight
// into the S3 backend and returns their keys with the reason each must be
// skipped for, as seen by an agent of cluster that requires signatures.
func (f *farm) writeGarbage(t *testing.T, cluster string) map[string]bootstrap.SkipReason {
	t.Helper()
	prefix := "farmhand/" + cluster + "/nodes/"
	// record is a record body and its key: <name>/<az>/<ip>:<port>.
	record := func(name, cluster string, version int, sig string) (string, []byte) {
		rec := bootstrap.Record{
			Version: version, Cluster: cluster, Name: name, Addr: testutil.TakeIP(t).String(), Port: 7946,
			AZ: "us-east-1a", StartedAt: time.Now().UTC().Truncate(time.Second), Signature: sig,
		}
		b, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		return name + "/" + rec.AZ + "/" + rec.JoinAddr(), b
	}
	junk := make([]byte, 512)
	_, _ = rand.Read(junk)
	forged := sha256.Sum256([]byte("not the registry key"))
	valid := func(name string) string { return name + "/us-east-1a/" + testutil.TakeIP(t).String() + ":7946" }
	_, misnamed := record("i-someone-else", cluster, bootstrap.RecordVersion, "")
	_, legacy := record("i-legacy", cluster, bootstrap.RecordVersion, "")
	type object struct {
		key    string // under prefix
		body   []byte
		reason bootstrap.SkipReason
	}
	objects := []object{
		{valid("i-junk"), junk, bootstrap.SkipMalformed},
		{valid("i-truncated"), []byte(`{"v":1,"cluster":"` + cluster + `","na`), bootstrap.SkipMalformed},
		{valid("i-noversion"), []byte(`{"cluster":"` + cluster + `","name":"i-noversion"}`), bootstrap.SkipMalformed},
		{valid("i-misnamed"), misnamed, bootstrap.SkipMalformed},
		{"i-legacy", legacy, bootstrap.SkipMalformed},                  // the key lacks AZ and address
		{"i-nested/deeper", legacy, bootstrap.SkipMalformed},           // so does this one
		{"i-badip/-/10.0.0.300:7946", legacy, bootstrap.SkipMalformed}, // not an IP
		{valid("i-huge"), bytes.Repeat([]byte("x"), 4<<20), bootstrap.SkipOversize},
	}
	for _, o := range []struct {
		name, cluster string
		version       int
		sig           string
		reason        bootstrap.SkipReason
	}{
		{"i-foreign", "someone-elses-cluster", bootstrap.RecordVersion, "", bootstrap.SkipForeignCluster},
		{"i-future", cluster, bootstrap.RecordVersion + 1, "", bootstrap.SkipBadVersion},
		{"i-ancient", cluster, 0, "", bootstrap.SkipBadVersion},
		{"i-forged", cluster, bootstrap.RecordVersion, base64.StdEncoding.EncodeToString(forged[:]), bootstrap.SkipBadSignature},
		{"i-unsigned", cluster, bootstrap.RecordVersion, "", bootstrap.SkipUnsigned},
	} {
		key, b := record(o.name, o.cluster, o.version, o.sig)
		objects = append(objects, object{key, b, o.reason})
	}
	out := map[string]bootstrap.SkipReason{}
	for _, o := range objects {
		key := prefix + o.key
		if _, err := f.s3.Backend().PutObject(f.bucket, key, nil, bytes.NewReader(o.body), int64(len(o.body)), nil); err != nil {
			t.Fatalf("writing %s: %v", key, err)
		}
		out[key] = o.reason
	}
	return out
}
