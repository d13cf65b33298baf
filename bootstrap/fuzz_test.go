package bootstrap

import (
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
		rec, reason, detail := r.decode("i-1", body)
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
