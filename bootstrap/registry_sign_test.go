package bootstrap

import (
	"context"
	"encoding/json"
	"testing"
)

func TestSignedRecords(t *testing.T) {
	ctx := context.Background()
	f := newFakeS3(testBucket)
	writer := newTestRegistry(t, f, func(c *RegistryConfig) { c.SigningKey = []byte("k1") })
	rec := testRecord(1, "az-a")
	if err := writer.Register(ctx, rec); err != nil {
		t.Fatal(err)
	}
	body, _ := f.body(writer.Key(rec))
	var stored Record
	if err := json.Unmarshal(body, &stored); err != nil || stored.Signature == "" {
		t.Fatalf("stored record has no signature: %s (%v)", body, err)
	}

	listOne := func(r *Registry) int {
		t.Helper()
		recs, err := r.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return len(recs)
	}
	if n := listOne(signedReader(t, f, nil)); n != 1 {
		t.Errorf("reader with the same key accepted %d records, want 1", n)
	}
	if n := listOne(newTestRegistry(t, f, nil)); n != 1 {
		t.Errorf("reader without a key accepted %d records, want 1", n)
	}
	other := newTestRegistry(t, f, func(c *RegistryConfig) { c.SigningKey = []byte("k2") })
	if n := listOne(other); n != 0 || other.Stats().Skipped[SkipBadSignature] != 1 {
		t.Errorf("reader with another key accepted %d records, skipped %v", n, other.Stats().Skipped)
	}
	rotating := newTestRegistry(t, f, func(c *RegistryConfig) {
		c.SigningKey = []byte("k2")
		c.VerifyKeys = [][]byte{[]byte("k1")}
	})
	if n := listOne(rotating); n != 1 {
		t.Errorf("reader verifying the old key accepted %d records, want 1", n)
	}

	// Tampering with a signed field invalidates the record.
	stored.Tags = map[string]string{"role": "coordinator"}
	tampered, _ := json.Marshal(stored)
	f.putRaw(writer.Key(rec), tampered)
	reader := signedReader(t, f, nil)
	if n := listOne(reader); n != 0 || reader.Stats().Skipped[SkipBadSignature] != 1 {
		t.Errorf("tampered record: accepted %d, skipped %v", n, reader.Stats().Skipped)
	}

	// Unsigned records pass unless signatures are required.
	f2 := newFakeS3(testBucket)
	if err := newTestRegistry(t, f2, nil).Register(ctx, rec); err != nil {
		t.Fatal(err)
	}
	lenient := newTestRegistry(t, f2, func(c *RegistryConfig) { c.SigningKey = []byte("k1") })
	if n := listOne(lenient); n != 1 {
		t.Errorf("lenient reader accepted %d unsigned records, want 1", n)
	}
	strict := signedReader(t, f2, nil)
	if n := listOne(strict); n != 0 || strict.Stats().Skipped[SkipUnsigned] != 1 {
		t.Errorf("strict reader accepted %d unsigned records, skipped %v", n, strict.Stats().Skipped)
	}
}
