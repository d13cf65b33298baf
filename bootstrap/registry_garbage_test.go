package bootstrap

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// garbageObjects returns, per skip reason, object bodies by key, for a
// reader of cluster "blue" that requires signatures under key "k1" (see
// signedReader). badKeys is how many of them a listing rejects by key alone.
func garbageObjects(t *testing.T, r *Registry) (garbage map[SkipReason]map[string][]byte, badKeys int) {
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
	moved := testRecord(908, "")
	moved.Version = RecordVersion
	movedKey := r.Key(moved)
	moved.Addr = "10.99.0.1"
	// key is a well-formed key for name; the body decides the reason.
	key := func(name string) string { return r.Key(Record{Name: name, Addr: "10.9.9.9", Port: 7946}) }
	body := marshal(testRecord(907, ""))

	return map[SkipReason]map[string][]byte{
		SkipMalformed: {
			key("i-json"):      []byte(`{"v":1,"cluster":"blue",`),
			key("i-binary"):    {0x00, 0xff, 0xfe, 0x7f, 0x80, 0x01},
			key("i-array"):     []byte(`[1,2,3]`),
			key("i-noversion"): []byte(`{"cluster":"blue"}`),
			key("i-mismatch"):  marshal(mismatch), // name differs from key
			r.Key(badPort):     marshal(badPort),  // port 0: rejected by key
			movedKey:           marshal(moved),    // address differs from key
			// Rejected by key alone:
			r.nodesPrefix() + "i-legacy":                   body, // no AZ and address
			r.nodesPrefix() + "i-nested/x/y/10.0.0.1:7946": body,
			r.nodesPrefix() + "i-noport/-/10.0.0.1":        body,
			r.nodesPrefix() + "i-badip/-/10.0.0.300:7946":  body,
		},
		SkipForeignCluster: {key(foreign.Name): marshal(foreign)},
		SkipBadVersion:     {key("i-v2"): marshal(future)},
		SkipOversize:       {key("i-huge"): []byte(`{"v":1,"pad":"` + strings.Repeat("x", int(r.cfg.MaxRecordSize)) + `"}`)},
		SkipBadSignature:   {r.Key(badSig): marshal(badSig)},
		SkipUnsigned:       {r.Key(unsigned): marshal(unsigned)},
	}, 6 // the four above, the port 0 one and the oversize one
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
	garbage, badKeys := garbageObjects(t, r)
	for _, objs := range garbage {
		for key, body := range objs {
			f.putRaw(key, body)
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
		for key := range objs {
			if n := logs.CountLines("skipping unusable registry object", key, string(reason)); n != 1 {
				t.Errorf("%d warnings for %s (%s), want exactly 1 over two Lists", n, key, reason)
			}
		}
	}
	if n, err := countNodes(ctx, r); err != nil || n != countKeys(garbage)-badKeys+len(good) {
		// countNodes judges by key and size only.
		t.Errorf("CountNodes = %d, %v; want %d", n, err, countKeys(garbage)-badKeys+len(good))
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
	if _, reason, detail := r.decode(good, body); reason != "" {
		t.Fatalf("valid record skipped: %s %s", reason, detail)
	}
	v6 := good
	v6.Addr = "fd00::1"
	body, _ = json.Marshal(v6)
	if _, reason, _ := r.decode(v6, body); reason != "" {
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
		{`{"v":1,"cluster":"blue","name":"i-x","addr":"10.0.0.2","port":1}`, SkipMalformed},          // not its key's address
		{`{"v":1,"cluster":"blue","name":"i-x","addr":"10.0.0.1","port":1,"az":"a"}`, SkipMalformed}, // nor AZ
		{`{"v":1,"cluster":"blue","name":"i-x","addr":"10.0.0.1","port":1}`, ""},
	} {
		fromKey := Record{Name: "i-x", Addr: "10.0.0.1", Port: 1}
		if _, reason, _ := r.decode(fromKey, []byte(tc.body)); reason != tc.want {
			t.Errorf("decode(%s) reason = %q, want %q", tc.body, reason, tc.want)
		}
	}
}
