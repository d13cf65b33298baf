package bootstrap

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// FuzzDecodeRecord feeds arbitrary object bodies to the registry decoder,
// with and without a signing key. It must never panic, and whatever it
// accepts must be a record a joiner can dial, of our cluster, under its key,
// and (with a key) correctly signed.
func FuzzDecodeRecord(f *testing.F) {
	good := Record{Version: RecordVersion, Cluster: "c1", Name: "i-1", Addr: "10.0.0.1", Port: 7946, StartedAt: time.Unix(1700000000, 0).UTC()}
	key := []byte("0123456789abcdef0123")
	signed := good
	sig, err := signature(key, signed)
	if err != nil {
		f.Fatal(err)
	}
	signed.Signature = sig
	for _, rec := range []Record{good, signed} {
		r := newTestRegistry(f, newFakeS3(testBucket), func(c *RegistryConfig) { c.Cluster = "c1" })
		body, err := r.encode(rec)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body, false)
		f.Add(body, true)
	}
	for _, s := range []string{"", "{}", "null", "[]", `{"v":1}`, `{"v":2,"cluster":"c1"}`, `{"v":1e400}`,
		`{"v":1,"cluster":"c1","name":"i-1","addr":"::1","port":0}`, "\x00\xff\xfe", `{"v":1,"tags":{"a":`} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, withKey bool) {
		r := newTestRegistry(t, newFakeS3(testBucket), func(c *RegistryConfig) {
			c.Cluster = "c1"
			if withKey {
				c.SigningKey = key
				c.RequireSignature = true
			}
		})
		rec, reason, detail := r.decode(Record{Name: "i-1", Addr: "10.0.0.1", Port: 7946}, body)
		if reason != "" {
			if detail == "" {
				t.Errorf("skip reason %q without a detail", reason)
			}
			return
		}
		if rec.Cluster != "c1" || rec.Name != "i-1" || checkRecordFields(rec) != nil || rec.Version != RecordVersion {
			t.Errorf("accepted an unusable record: %+v", rec)
		}
		if withKey {
			want, err := signature(key, rec)
			if err != nil || want != rec.Signature {
				t.Errorf("accepted a record whose signature does not verify: %+v", rec)
			}
		}
	})
}

// FuzzParseKey feeds arbitrary object keys to the registry's key parser.
// It must never panic, and a key it accepts must name a record a joiner
// can dial whose Key is that key again (or, for an IP written in another
// form, a key that parses to the same record).
func FuzzParseKey(f *testing.F) {
	r := newTestRegistry(f, newFakeS3(testBucket), nil)
	for _, s := range []string{"", "i-1/us-east-1a/10.0.0.1:7946", "i-1/-/fd00::1:7946", "i-1", "i-1/a/b/c",
		"i-1/a/10.0.0.1", "i-1/a/10.0.0.1:0", "i-1/a/:7946", "/a/10.0.0.1:7946", "i-1//10.0.0.1:7946", "i-1/a/[::1]:7946"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rest string) {
		rec, marker, problem := r.parseKey(r.nodesPrefix() + rest)
		if marker || problem != "" {
			return
		}
		if err := checkRecordFields(rec); err != nil || rec.Name == "" || strings.Contains(rec.Name, "/") || strings.Contains(rec.AZ, "/") {
			t.Fatalf("accepted %q as an undialable record %+v (%v)", rest, rec, err)
		}
		again, _, problem := r.parseKey(r.Key(rec))
		if problem != "" || !reflect.DeepEqual(again, rec) {
			t.Fatalf("%q parsed to %+v, whose Key %q parses to %+v (%s)", rest, rec, r.Key(rec), again, problem)
		}
	})
}
