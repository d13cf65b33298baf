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
	if st := r.Stats(); st.List != 1 || st.Get != 3 || st.Put != 0 {
		t.Fatalf("Candidates(want=3) cost %+v, want 1 LIST + 3 GET", st)
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

func TestCandidatesSkipGarbageWithoutStalling(t *testing.T) {
	ctx := context.Background()
	f := newFakeS3(testBucket)
	seedCandidates(t, f, 6)
	r := newTestRegistry(t, f, nil)
	// Newest objects are garbage: two malformed (GET needed to tell) and
	// one oversize (rejected by listed size, never fetched).
	f.putRaw(r.Key("i-junk1"), []byte("\x00\x01junk"))
	f.putRaw(r.Key("i-junk2"), []byte(`{"v":1,"cluster":"blue","name":"i-junk2","addr":"nope","port":1}`))
	f.putRaw(r.Key("i-big"), make([]byte, 9000))

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
