package bootstrap

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// garbageObjects returns, per skip reason, object bodies stored under the
// given key names, for a reader of cluster "blue" that requires signatures
// under key "k1" (see signedReader).
func garbageObjects(t *testing.T, r *Registry) map[SkipReason]map[string][]byte {
	t.Helper()
	marshal := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	foreign := testRecord(901, "")
	foreign.Cluster, foreign.Version = "green", RecordVersion
	future := map[string]any{"v": 2, "cluster": "blue", "name": "i-v2", "addr": []int{10, 0, 0, 1}}
	badSig := testRecord(903, "")
	badSig.Version = RecordVersion
	sig, err := signature([]byte("wrong key"), badSig)
	if err != nil {
		t.Fatal(err)
	}
	badSig.Signature = sig
	unsigned := testRecord(904, "")
	unsigned.Version = RecordVersion
	mismatch := testRecord(905, "")
	mismatch.Version = RecordVersion
	badPort := testRecord(906, "")
	badPort.Version, badPort.Port = RecordVersion, 0

	return map[SkipReason]map[string][]byte{
		SkipMalformed: {
			"i-json":      []byte(`{"v":1,"cluster":"blue",`),
			"i-binary":    {0x00, 0xff, 0xfe, 0x7f, 0x80, 0x01},
			"i-array":     []byte(`[1,2,3]`),
			"i-noversion": []byte(`{"cluster":"blue"}`),
			"i-mismatch":  marshal(mismatch), // name differs from key
			"i-badport":   marshal(badPort),
			"i-nested/x":  marshal(testRecord(907, "")),
		},
		SkipForeignCluster: {foreign.Name: marshal(foreign)},
		SkipBadVersion:     {"i-v2": marshal(future)},
		SkipOversize:       {"i-huge": []byte(`{"v":1,"pad":"` + strings.Repeat("x", int(r.cfg.MaxRecordSize)) + `"}`)},
		SkipBadSignature:   {badSig.Name: marshal(badSig)},
		SkipUnsigned:       {unsigned.Name: marshal(unsigned)},
	}
}

// signedReader is a registry requiring signatures under key "k1".
func signedReader(t *testing.T, api S3API, edit func(*RegistryConfig)) *Registry {
	return newTestRegistry(t, api, func(c *RegistryConfig) {
		c.SigningKey = []byte("k1")
		c.RequireSignature = true
		if edit != nil {
			edit(c)
		}
	})
}

func TestGarbageIsSkippedCountedAndWarnedOnce(t *testing.T) {
	ctx := context.Background()
	f := newFakeS3(testBucket)
	logs, logger := newLogBuffer()
	r := signedReader(t, f, func(c *RegistryConfig) { c.Logger = logger })
	garbage := garbageObjects(t, r)
	for _, objs := range garbage {
		for name, body := range objs {
			f.putRaw(r.Key(name), body)
		}
	}
	f.putRaw(r.nodesPrefix(), nil) // a directory marker is neither record nor garbage
	good := []Record{testRecord(1, "az-a"), testRecord(2, "az-b")}
	for _, rec := range good {
		if err := r.Register(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}

	for round := 1; round <= 2; round++ {
		recs, err := r.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != len(good) || recs[0].Name != good[0].Name || recs[1].Name != good[1].Name {
			t.Fatalf("round %d: List = %+v, want only the two good records", round, recs)
		}
		st := r.Stats()
		for reason, objs := range garbage {
			if got, want := st.Skipped[reason], int64(round*len(objs)); got != want {
				t.Errorf("round %d: Skipped[%s] = %d, want %d", round, reason, got, want)
			}
		}
	}
	for reason, objs := range garbage {
		for name := range objs {
			if n := logs.CountLines("skipping unusable registry object", r.Key(name), string(reason)); n != 1 {
				t.Errorf("%d warnings for %s (%s), want exactly 1 over two Lists", n, name, reason)
			}
		}
	}
	if n, err := r.CountNodes(ctx); err != nil || n != countKeys(garbage)-2+len(good) {
		// CountNodes judges by name and size only: nested and oversize keys are out.
		t.Errorf("CountNodes = %d, %v; want %d", n, err, countKeys(garbage)-2+len(good))
	}
}

func countKeys(m map[SkipReason]map[string][]byte) int {
	n := 0
	for _, objs := range m {
		n += len(objs)
	}
	return n
}

func TestDecodeReasons(t *testing.T) {
	r := newTestRegistry(t, newFakeS3(testBucket), nil)
	good := testRecord(1, "")
	good.Version = RecordVersion
	body, _ := json.Marshal(good)
	if _, reason, detail := r.decode(good.Name, body); reason != "" {
		t.Fatalf("valid record skipped: %s %s", reason, detail)
	}
	v6 := good
	v6.Addr = "fd00::1"
	body, _ = json.Marshal(v6)
	if _, reason, _ := r.decode(v6.Name, body); reason != "" {
		t.Fatalf("IPv6 record skipped: %s", reason)
	}
	for _, tc := range []struct {
		body string
		want SkipReason
	}{
		{`null`, SkipMalformed},
		{`{"v":1} trailing`, SkipMalformed},
		{`{"v":"1"}`, SkipMalformed},
		{`{"v":0,"cluster":"blue"}`, SkipBadVersion},
		{`{"v":1,"cluster":"blue","name":"i-x","addr":"10.0.0.1","port":1,"tags":"notamap"}`, SkipMalformed},
		{`{"v":1,"cluster":"","name":"i-x","addr":"10.0.0.1","port":1}`, SkipForeignCluster},
		{`{"v":1,"cluster":"blue","name":"i-x","addr":"","port":1}`, SkipMalformed},
		{`{"v":1,"cluster":"blue","name":"i-x","addr":"10.0.0.1","port":65536}`, SkipMalformed},
	} {
		if _, reason, _ := r.decode("i-x", []byte(tc.body)); reason != tc.want {
			t.Errorf("decode(%s) reason = %q, want %q", tc.body, reason, tc.want)
		}
	}
}
