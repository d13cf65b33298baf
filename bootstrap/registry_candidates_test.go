package bootstrap

import (
	"context"
	"strings"
	"testing"
)

// seedCandidates registers nodes 0..n-1 in order (so node n-1 is newest),
// even nodes in az-a, odd ones in az-b.
func seedCandidates(t *testing.T, f *fakeS3, n int) {
	t.Helper()
	seed := newTestRegistry(t, f, nil)
	for i := range n {
		az := "az-a"
		if i%2 == 1 {
			az = "az-b"
		}
		if err := seed.Register(context.Background(), testRecord(i, az)); err != nil {
			t.Fatal(err)
		}
	}
}

func names(recs []Record) string {
	var s []string
	for _, r := range recs {
		s = append(s, r.Name)
	}
	return strings.Join(s, ",")
}

func TestCandidatesNewestFirstOwnAZFirst(t *testing.T) {
	ctx := context.Background()
	f := newFakeS3(testBucket)
	seedCandidates(t, f, 10)
	self := Identity{InstanceID: testRecord(9, "").Name, AvailabilityZone: "az-a"}

	r := newTestRegistry(t, f, nil)
	got, err := r.Candidates(ctx, self, 3)
	if err != nil {
		t.Fatal(err)
	}
	// Other than self (9): the newest (8), the oldest (0), then the next
	// newest (7); az-a (even) first.
	want := names([]Record{testRecord(8, ""), testRecord(0, ""), testRecord(7, "")})
	if names(got) != want {
		t.Fatalf("Candidates = %s, want %s", names(got), want)
	}
	if st := r.Stats(); st.List != 1 || st.Get != 0 || st.Put != 0 {
		t.Fatalf("Candidates(want=3) cost %+v, want 1 LIST and nothing else: the keys hold the addresses", st)
	}
	for _, rec := range got {
		var i int
		for i = 0; testRecord(i, "").Name != rec.Name; i++ {
		}
		if want := testRecord(i, []string{"az-a", "az-b"}[i%2]); rec.Addr != want.Addr || rec.Port != want.Port || rec.AZ != want.AZ || rec.Cluster != "blue" {
			t.Fatalf("candidate from key %+v, want the address, port and AZ of %+v", rec, want)
		}
	}

	// A signing key makes the key alone prove nothing: the records are
	// read and verified, as many as wanted.
	signed := newTestRegistry(t, f, func(c *RegistryConfig) { c.SigningKey = []byte("k1") })
	got, err = signed.Candidates(ctx, self, 3)
	if err != nil || names(got) != want {
		t.Fatalf("signed Candidates = %s, %v; want %s", names(got), err, want)
	}
	if st := signed.Stats(); st.List != 1 || st.Get != 3 {
		t.Fatalf("signed Candidates(want=3) cost %+v, want 1 LIST + 3 GET", st)
	}

	all, err := r.Candidates(ctx, self, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 9 {
		t.Fatalf("Candidates(want=0) returned %d, want all 9 others", len(all))
	}
	for i, rec := range all {
		if rec.Name == self.InstanceID {
			t.Fatal("Candidates returned self")
		}
		if i < 5 && rec.AZ != "az-a" || i >= 5 && rec.AZ != "az-b" {
			t.Fatalf("Candidates(want=0) not grouped own AZ first: %d is %s in %s", i, rec.Name, rec.AZ)
		}
	}
	if more, err := r.Candidates(ctx, self, 50); err != nil || len(more) != 9 {
		t.Fatalf("Candidates(want=50) = %d records, %v; want the 9 there are", len(more), err)
	}
}

func TestCandidatesSkipGarbageKeysUnread(t *testing.T) {
	ctx := context.Background()
	f := newFakeS3(testBucket)
	seedCandidates(t, f, 4)
	r := newTestRegistry(t, f, nil)
	for _, k := range []string{"i-legacy", "i-junk/-/nope:7946", "i-junk/-/10.0.0.1:99999", "a/b/c/d"} {
		f.putRaw(r.nodesPrefix()+k, []byte("{}"))
	}
	got, err := r.Candidates(ctx, Identity{InstanceID: "i-self"}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := names([]Record{testRecord(3, ""), testRecord(0, ""), testRecord(2, "")}); names(got) != want {
		t.Fatalf("Candidates = %s, want %s", names(got), want)
	}
	if st := r.Stats(); st.Get != 0 || st.Skipped[SkipMalformed] != 4 {
		t.Fatalf("stats %+v, want 4 malformed keys skipped and nothing read", st)
	}
	if n, err := countNodes(ctx, r); err != nil || n != 4 {
		t.Fatalf("CountNodes = %d, %v; want the 4 real nodes", n, err)
	}
}

func TestCandidatesSignedSkipGarbageWithoutStalling(t *testing.T) {
	ctx := context.Background()
	f := newFakeS3(testBucket)
	seedCandidates(t, f, 6)
	r := newTestRegistry(t, f, func(c *RegistryConfig) { c.SigningKey = []byte("k1") })
	// Newest objects are garbage: two malformed (GET needed to tell) and
	// one oversize (rejected by listed size, never fetched).
	key := func(name string) string { return r.Key(Record{Name: name, Addr: "10.9.9.9", Port: 7946}) }
	f.putRaw(key("i-junk1"), []byte("\x00\x01junk"))
	f.putRaw(key("i-junk2"), []byte(`{"v":1,"cluster":"blue","name":"i-junk2","addr":"nope","port":1}`))
	f.putRaw(key("i-big"), make([]byte, 9000))

	got, err := r.Candidates(ctx, Identity{InstanceID: "i-self"}, 3)
	if err != nil {
		t.Fatal(err)
	}
	// Fetch order: junk2 (newest), 0 (oldest), junk1, then 5, 4 to make
	// up for the two skipped.
	want := names([]Record{testRecord(0, ""), testRecord(5, ""), testRecord(4, "")})
	if names(got) != want {
		t.Fatalf("Candidates = %s, want %s", names(got), want)
	}
	st := r.Stats()
	if st.Get != 5 {
		t.Fatalf("Get = %d, want 5 (3 records + 2 malformed; oversize unread)", st.Get)
	}
	if st.Skipped[SkipMalformed] != 2 || st.Skipped[SkipOversize] != 1 {
		t.Fatalf("Skipped = %v", st.Skipped)
	}
}

func TestCandidatesEmptyRegistry(t *testing.T) {
	r := newTestRegistry(t, newFakeS3(testBucket), nil)
	got, err := r.Candidates(context.Background(), Identity{InstanceID: "i-self"}, 3)
	if err != nil || len(got) != 0 {
		t.Fatalf("Candidates on empty registry = %v, %v", got, err)
	}
	if st := r.Stats(); st.List != 1 || st.Get != 0 {
		t.Fatalf("stats %+v, want 1 LIST", st)
	}
}

func TestStaleOwnKeysAreDeleted(t *testing.T) {
	ctx := context.Background()
	f := newFakeS3(testBucket)
	seedCandidates(t, f, 3)
	self := testRecord(7, "az-a")
	// An earlier run of this node registered at another port.
	old := self
	old.Port = 8301
	if err := newTestRegistry(t, f, nil).Register(ctx, old); err != nil {
		t.Fatal(err)
	}
	r := newTestRegistry(t, f, nil)
	if err := r.Register(ctx, self); err != nil {
		t.Fatal(err)
	}
	got, err := r.Candidates(ctx, Identity{InstanceID: self.Name, AvailabilityZone: "az-a"}, 0)
	if err != nil || len(got) != 3 {
		t.Fatalf("Candidates = %s, %v; want the 3 others", names(got), err)
	}
	if _, ok := f.body(r.Key(old)); ok {
		t.Fatalf("the old run's key %s is still there", r.Key(old))
	}
	if _, ok := f.body(r.Key(self)); !ok {
		t.Fatalf("the current key %s is gone", r.Key(self))
	}

	// Moving (a new address) writes the new key, then deletes the old.
	moved := self
	moved.Addr = "10.1.2.3"
	if err := r.Register(ctx, moved); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.body(r.Key(self)); ok {
		t.Fatal("Register at a new address left the old key")
	}
	if n, err := countNodes(ctx, r); err != nil || n != 4 {
		t.Fatalf("CountNodes = %d, %v; want 4", n, err)
	}

	// Another registry (the coordinator pruning) finds the key by name.
	other := newTestRegistry(t, f, nil)
	if err := other.Deregister(ctx, moved.Name); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.body(r.Key(moved)); ok {
		t.Fatal("Deregister by name left the key")
	}
	if st := other.Stats(); st.List != 1 || st.Delete != 1 {
		t.Fatalf("Deregister of a name not written here cost %+v, want 1 LIST + 1 DELETE", st)
	}
	if err := other.Deregister(ctx, "i-never-there"); err != nil {
		t.Fatalf("Deregister of a missing name: %v", err)
	}
}
