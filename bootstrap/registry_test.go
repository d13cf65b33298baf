package bootstrap

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestNewRegistryValidates(t *testing.T) {
	f := newFakeS3(testBucket)
	cases := []struct {
		name string
		edit func(*RegistryConfig)
		want string
	}{
		{"no bucket", func(c *RegistryConfig) { c.Bucket = "" }, "bucket is empty"},
		{"no cluster", func(c *RegistryConfig) { c.Cluster = "" }, "cluster"},
		{"slash in cluster", func(c *RegistryConfig) { c.Cluster = "a/b" }, "cluster \"a/b\""},
		{"require without key", func(c *RegistryConfig) { c.RequireSignature = true }, "require_signature"},
		{"max below base", func(c *RegistryConfig) { c.Retry.Base = time.Second; c.Retry.Max = time.Millisecond }, "retry backoff base"},
		{"negative attempts", func(c *RegistryConfig) { c.Retry.MaxAttempts = -1 }, "max attempts"},
		{"negative size", func(c *RegistryConfig) { c.MaxRecordSize = -1 }, "max record size"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultRegistryConfig()
			cfg.Bucket, cfg.Cluster = testBucket, "blue"
			tc.edit(&cfg)
			_, err := NewRegistry(f, cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewRegistry error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := NewRegistry(nil, DefaultRegistryConfig()); err == nil {
		t.Fatal("NewRegistry(nil api) succeeded")
	}
}

func TestRegistryDefaultsAndKeys(t *testing.T) {
	r, err := NewRegistry(newFakeS3(testBucket), RegistryConfig{Bucket: testBucket, Cluster: "blue"})
	if err != nil {
		t.Fatal(err)
	}
	rec := Record{Name: "i-1", AZ: "us-east-1a", Addr: "10.0.1.5", Port: 7946}
	if got := r.Key(rec); got != "farmhand/blue/nodes/i-1/us-east-1a/10.0.1.5:7946" {
		t.Errorf("Key = %q", got)
	}
	v6 := Record{Name: "i-2", Addr: "fd00::5", Port: 7946}
	if got := r.Key(v6); got != "farmhand/blue/nodes/i-2/-/fd00::5:7946" {
		t.Errorf("Key of an IPv6 record without AZ = %q", got)
	}
	for _, want := range []Record{rec, v6} {
		got, marker, problem := r.parseKey(r.Key(want))
		if marker || problem != "" || got.Name != want.Name || got.AZ != want.AZ || got.Addr != want.Addr || got.Port != want.Port || got.Cluster != "blue" {
			t.Errorf("parseKey(Key(%+v)) = %+v, %v, %q", want, got, marker, problem)
		}
	}
	if got := r.ClusterPrefix(); got != "farmhand/blue/" {
		t.Errorf("ClusterPrefix = %q", got)
	}
	if r.cfg.MaxRecordSize != 8<<10 || r.cfg.Concurrency != 16 || r.cfg.Retry.MaxAttempts < 1 {
		t.Errorf("defaults not applied: %+v", r.cfg)
	}
	r2 := newTestRegistry(t, newFakeS3(testBucket), func(c *RegistryConfig) { c.Prefix = "/env/prod/" })
	if got := r2.Key(rec); got != "env/prod/blue/nodes/i-1/us-east-1a/10.0.1.5:7946" {
		t.Errorf("Key with prefix /env/prod/ = %q", got)
	}
}

func TestRegisterConditionalCreateAndNoRepeat(t *testing.T) {
	ctx := context.Background()
	f := newFakeS3(testBucket)
	r := newTestRegistry(t, f, nil)
	rec := testRecord(1, "az-a")

	if err := r.Register(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if len(f.puts) != 1 || f.puts[0].ifNoneMatch != "*" || f.puts[0].key != r.Key(rec) {
		t.Fatalf("first Register puts = %+v, want one conditional PUT of %s", f.puts, r.Key(rec))
	}
	body, _ := f.body(r.Key(rec))
	var stored Record
	if err := json.Unmarshal(body, &stored); err != nil {
		t.Fatalf("stored body is not JSON: %v", err)
	}
	if stored.Version != RecordVersion || stored.Name != rec.Name || stored.Addr != rec.Addr {
		t.Errorf("stored record = %+v", stored)
	}

	before := r.Stats()
	if err := r.Register(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if after := r.Stats(); after.Requests() != before.Requests() {
		t.Fatalf("identical Register made %d requests, want 0", after.Requests()-before.Requests())
	}

	rec.Tags = map[string]string{"role": "master"}
	if err := r.Register(ctx, rec); err != nil {
		t.Fatal(err)
	}
	st := r.Stats()
	if st.Put-before.Put != 2 || st.Get-before.Get != 1 {
		t.Fatalf("changed Register cost %d PUT %d GET, want 2 PUT (412 + overwrite) and 1 GET", st.Put-before.Put, st.Get-before.Get)
	}
	body, _ = f.body(r.Key(rec))
	if !strings.Contains(string(body), `"master"`) {
		t.Fatalf("record not overwritten: %s", body)
	}
}

func TestRegisterExistingIdenticalIsNotOverwritten(t *testing.T) {
	ctx := context.Background()
	f := newFakeS3(testBucket)
	rec := testRecord(1, "az-a")
	if err := newTestRegistry(t, f, nil).Register(ctx, rec); err != nil {
		t.Fatal(err)
	}
	// A restarted agent: a fresh Registry registering the same record.
	r := newTestRegistry(t, f, nil)
	if err := r.Register(ctx, rec); err != nil {
		t.Fatal(err)
	}
	st := r.Stats()
	if st.Put != 1 || st.Get != 1 || len(f.puts) != 1 {
		t.Fatalf("re-register of identical record: stats %+v, served puts %d; want 1 refused PUT + 1 GET, nothing written", st, len(f.puts))
	}
}

// S3 answers 409 ConditionalRequestConflict when a concurrent conditional
// write to the same key won: the same lost condition as 412, so Register
// reads what is stored and writes only if it differs (it used to fail with
// "request rejected").
func TestRegisterConcurrentConditionalConflictIsALostCondition(t *testing.T) {
	ctx := context.Background()
	f := newFakeS3(testBucket)
	f.fail = failN("PutObject", 1, apiError(http.StatusConflict, "ConditionalRequestConflict"))
	r := newTestRegistry(t, f, nil)
	rec := testRecord(1, "")
	if err := r.Register(ctx, rec); err != nil {
		t.Fatalf("Register after a 409 conflict: %v", err)
	}
	if _, ok := f.body(r.Key(rec)); !ok {
		t.Fatal("record not stored")
	}
	if st := r.Stats(); st.Put != 2 || st.Get != 1 {
		t.Fatalf("stats %+v, want the refused PUT, 1 GET, 1 PUT", st)
	}
}

func TestRegisterWithoutConditionalSupport(t *testing.T) {
	ctx := context.Background()
	f := newFakeS3(testBucket)
	f.noConditional = true
	logs, logger := newLogBuffer()
	r := newTestRegistry(t, f, func(c *RegistryConfig) { c.Logger = logger })
	if err := r.Register(ctx, testRecord(1, "")); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(ctx, testRecord(2, "")); err != nil {
		t.Fatal(err)
	}
	if len(f.puts) != 2 || f.puts[0].ifNoneMatch != "" || f.puts[1].ifNoneMatch != "" {
		t.Fatalf("puts = %+v, want two plain PUTs", f.puts)
	}
	if st := r.Stats(); st.Put != 3 {
		t.Fatalf("Put = %d, want 3 (one refused conditional, two plain)", st.Put)
	}
	if logs.CountLines("conditional writes") != 1 {
		t.Fatalf("want one warning about conditional writes")
	}
}

func TestRegisterRejectsInvalidRecords(t *testing.T) {
	f := newFakeS3(testBucket)
	r := newTestRegistry(t, f, nil)
	cases := map[string]func(*Record){
		"bad addr":      func(r *Record) { r.Addr = "host.example" },
		"port zero":     func(r *Record) { r.Port = 0 },
		"port too big":  func(r *Record) { r.Port = 70000 },
		"other cluster": func(r *Record) { r.Cluster = "green" },
		"slash in name": func(r *Record) { r.Name = "a/b" },
		"no name":       func(r *Record) { r.Name = "" },
		"oversize": func(r *Record) {
			r.Tags = map[string]string{"big": strings.Repeat("x", 9000)}
		},
	}
	for name, edit := range cases {
		rec := testRecord(1, "")
		edit(&rec)
		if err := r.Register(context.Background(), rec); err == nil {
			t.Errorf("%s: Register succeeded", name)
		}
	}
	if n := r.Stats().Requests(); n != 0 {
		t.Fatalf("invalid records caused %d requests", n)
	}
}

func TestDeregister(t *testing.T) {
	ctx := context.Background()
	f := newFakeS3(testBucket)
	r := newTestRegistry(t, f, nil)
	rec := testRecord(1, "")
	if err := r.Register(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := r.Deregister(ctx, rec.Name); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.body(r.Key(rec)); ok {
		t.Fatal("record still stored after Deregister")
	}
	// Deleting again: the name is looked up by listing, and nothing is
	// there to delete.
	if err := r.Deregister(ctx, rec.Name); err != nil {
		t.Fatalf("Deregister of missing record: %v", err)
	}
	// Register after Deregister must write again.
	if err := r.Register(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.body(r.Key(rec)); !ok {
		t.Fatal("Register after Deregister did not write")
	}
	// A server answering 404 to the DELETE is success.
	f.fail = func(op, key string) error {
		if op == "DeleteObject" {
			return apiError(404, "NoSuchKey")
		}
		return nil
	}
	if err := r.Deregister(ctx, rec.Name); err != nil {
		t.Fatalf("Deregister answered 404: %v", err)
	}
	f.fail = nil
	if st := r.Stats(); st.Delete != 2 || st.Put != 2 || st.List != 1 {
		t.Fatalf("stats %+v, want 2 DELETE, 2 PUT and 1 LIST", st)
	}
}

func TestListPaginatesAndBoundsConcurrency(t *testing.T) {
	ctx := context.Background()
	f := newFakeS3(testBucket)
	seed := newTestRegistry(t, f, nil)
	const n = 2500
	for i := range n {
		if err := seed.Register(ctx, testRecord(i, "")); err != nil {
			t.Fatal(err)
		}
	}
	r := newTestRegistry(t, f, func(c *RegistryConfig) { c.Concurrency = 4 })
	recs, err := r.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != n {
		t.Fatalf("List returned %d records, want %d", len(recs), n)
	}
	for i := 1; i < len(recs); i++ {
		if recs[i-1].Name >= recs[i].Name {
			t.Fatalf("List not sorted by name at %d: %s, %s", i, recs[i-1].Name, recs[i].Name)
		}
	}
	if st := r.Stats(); st.List != 3 || st.Get != n {
		t.Fatalf("List cost %d LIST + %d GET, want 3 + %d", st.List, st.Get, n)
	}
	if f.maxInflight > 4 {
		t.Fatalf("%d concurrent GETs, want at most 4", f.maxInflight)
	}
	count, err := countNodes(ctx, r)
	if err != nil || count != n {
		t.Fatalf("CountNodes = %d, %v; want %d", count, err, n)
	}
}
