package bootstrap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/farmhand/farmhand/bootstrap/awscall"
)

// TestRegistryIntegration runs the registry suite against real S3 servers
// through the real aws-sdk-go-v2 client. Each case uses its own cluster.
func TestRegistryIntegration(t *testing.T) {
	requireIntegration(t)
	for _, srv := range s3Servers {
		t.Run(srv.name, func(t *testing.T) {
			client := srv.start(t)
			t.Run("RegisterListDeregister", func(t *testing.T) { itRegisterListDeregister(t, client) })
			t.Run("ConditionalCreate", func(t *testing.T) { itConditionalCreate(t, client) })
			t.Run("Garbage", func(t *testing.T) { itGarbage(t, client) })
			t.Run("ManyRecords", func(t *testing.T) { itManyRecords(t, client) })
			t.Run("Errors", func(t *testing.T) { itErrors(t, client) })
		})
	}
}

// itRegistry is a registry on itBucket for cluster.
func itRegistry(t *testing.T, api S3API, cluster string, edit func(*RegistryConfig)) *Registry {
	t.Helper()
	return newTestRegistry(t, api, func(c *RegistryConfig) {
		c.Bucket, c.Cluster = itBucket, cluster
		if edit != nil {
			edit(c)
		}
	})
}

// inCluster returns testRecord(i) moved to cluster.
func inCluster(cluster string, i int, az string) Record {
	rec := testRecord(i, az)
	rec.Cluster = cluster
	return rec
}

func itRegisterListDeregister(t *testing.T, client S3API) {
	ctx := context.Background()
	r := itRegistry(t, client, "rld", nil)
	a, b := inCluster("rld", 1, "az-a"), inCluster("rld", 2, "az-b")
	for _, rec := range []Record{a, b} {
		if err := r.Register(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := r.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Name != a.Name || recs[1].Name != b.Name || recs[0].Addr != a.Addr ||
		recs[0].Tags["role"] != "worker" || !recs[0].StartedAt.Equal(a.StartedAt) {
		t.Fatalf("List = %+v, want records %s and %s as registered", recs, a.Name, b.Name)
	}
	cands, err := r.Candidates(ctx, Identity{InstanceID: a.Name, AvailabilityZone: "az-a"}, 3)
	if err != nil || len(cands) != 1 || cands[0].Name != b.Name {
		t.Fatalf("Candidates for %s = %+v, %v; want only %s", a.Name, cands, err, b.Name)
	}
	if err := r.Deregister(ctx, a.Name); err != nil {
		t.Fatal(err)
	}
	if err := r.Deregister(ctx, a.Name); err != nil {
		t.Fatalf("second Deregister: %v", err)
	}
	if n, err := countNodes(ctx, r); err != nil || n != 1 {
		t.Fatalf("CountNodes after Deregister = %d, %v; want 1", n, err)
	}
}

// itConditionalCreate checks If-None-Match: * against the server. A server
// that ignores the header is reported, not papered over.
func itConditionalCreate(t *testing.T, client S3API) {
	ctx := context.Background()
	r := itRegistry(t, client, "cc", nil)
	rec := inCluster("cc", 1, "")
	if err := r.Register(ctx, rec); err != nil {
		t.Fatal(err)
	}
	key := r.Key(rec)
	_, err := client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(itBucket), Key: aws.String(key),
		Body: bytes.NewReader([]byte("overwritten")), IfNoneMatch: aws.String("*"),
	})
	if err == nil {
		t.Fatalf("server ignores If-None-Match: * (a conditional create replaced %s); the registry cannot avoid overwrites on it", key)
	}
	if !awscall.Is(err, awscall.PreconditionLost) {
		t.Fatalf("conditional create of an existing key: %v, want 412 PreconditionFailed", err)
	}

	// A restarted agent registering the same record: 412, read, no write.
	again := itRegistry(t, client, "cc", nil)
	if err := again.Register(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if st := again.Stats(); st.Put != 1 || st.Get != 1 {
		t.Fatalf("re-register of identical record cost %+v, want 1 PUT (refused) + 1 GET", st)
	}
	// A changed record is overwritten.
	changed := rec
	changed.Port = 8301
	if err := again.Register(ctx, changed); err != nil {
		t.Fatal(err)
	}
	recs, err := again.List(ctx)
	if err != nil || len(recs) != 1 || recs[0].Port != 8301 {
		t.Fatalf("after changed Register, List = %+v, %v; want port 8301", recs, err)
	}
}

func itGarbage(t *testing.T, client S3API) {
	ctx := context.Background()
	r := itRegistry(t, client, "blue", nil)
	reader := signedReader(t, client, func(c *RegistryConfig) { c.Bucket = itBucket })
	writer := newTestRegistry(t, client, func(c *RegistryConfig) { c.Bucket = itBucket; c.SigningKey = []byte("k1") })
	garbage, _ := garbageObjects(t, reader)
	for _, objs := range garbage {
		for key, body := range objs {
			if _, err := client.PutObject(ctx, &s3.PutObjectInput{
				Bucket: aws.String(itBucket), Key: aws.String(key), Body: bytes.NewReader(body),
			}); err != nil {
				t.Fatalf("storing garbage %s: %v", key, err)
			}
		}
	}
	good := []Record{testRecord(1, "az-a"), testRecord(2, "az-b")}
	for _, rec := range good {
		if err := writer.Register(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := reader.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(good) || recs[0].Name != good[0].Name || recs[1].Name != good[1].Name {
		t.Fatalf("List = %+v, want only the two good records", recs)
	}
	cands, err := reader.Candidates(ctx, Identity{InstanceID: "i-self", AvailabilityZone: "az-b"}, 5)
	if err != nil || len(cands) != 2 || cands[0].AZ != "az-b" {
		t.Fatalf("Candidates = %+v, %v; want the two good records, az-b first", cands, err)
	}
	st := reader.Stats()
	for reason, objs := range garbage {
		if got, want := st.Skipped[reason], int64(2*len(objs)); got != want {
			t.Errorf("Skipped[%s] = %d, want %d (once per List and Candidates)", reason, got, want)
		}
	}
	// Without a signing key, the unsigned and wrongly signed records are
	// fine: only the other garbage is skipped.
	plain, err := r.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(good) + len(garbage[SkipUnsigned]) + len(garbage[SkipBadSignature]); len(plain) != want {
		t.Fatalf("unsigned reader found %d records, want %d", len(plain), want)
	}
}

func itManyRecords(t *testing.T, client S3API) {
	ctx := context.Background()
	const n = 2500
	cluster := "many"
	seed := itRegistry(t, client, cluster, func(c *RegistryConfig) { c.Concurrency = 32 })
	if err := registerConcurrently(ctx, seed, cluster, n, 32); err != nil {
		t.Fatal(err)
	}

	// One new node: register, then discover three candidates.
	self := inCluster(cluster, n, "az-a")
	node := itRegistry(t, client, cluster, nil)
	if err := node.Register(ctx, self); err != nil {
		t.Fatal(err)
	}
	reg := node.Stats()
	cands, err := node.Candidates(ctx, Identity{InstanceID: self.Name, AvailabilityZone: "az-a"}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(cands) != 3 {
		t.Fatalf("Candidates(want=3) returned %d", len(cands))
	}
	for _, c := range cands {
		if c.Name == self.Name {
			t.Fatal("Candidates returned self")
		}
	}
	boot := node.Stats()
	pages := int64((n + 1 + 999) / 1000)
	if reg.Put != 1 || reg.Requests() != 1 || boot.List != pages || boot.Get != 0 || boot.Put != 1 || boot.Delete != 0 {
		t.Fatalf("register + Candidates(3) over %d records cost %+v, want 1 PUT + %d LIST and no GET", n+1, boot, pages)
	}
	t.Logf("S3 requests, register + Candidates(want=3) over %d records: PUT %d, LIST %d, GET %d, DELETE %d (total %d)",
		n+1, boot.Put, boot.List, boot.Get, boot.Delete, boot.Requests())

	reader := itRegistry(t, client, cluster, nil)
	recs, err := reader.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != n+1 {
		t.Fatalf("List returned %d records, want %d", len(recs), n+1)
	}
	full := reader.Stats()
	if full.List != pages || full.Get != n+1 {
		t.Fatalf("full List cost %+v, want %d LIST + %d GET", full, pages, n+1)
	}
	t.Logf("S3 requests, full List of %d records: LIST %d, GET %d (total %d)", n+1, full.List, full.Get, full.Requests())

	count, err := countNodes(ctx, reader)
	if err != nil || count != n+1 {
		t.Fatalf("CountNodes = %d, %v; want %d", count, err, n+1)
	}
}

// registerConcurrently registers records 0..n-1 of cluster with workers
// goroutines.
func registerConcurrently(ctx context.Context, r *Registry, cluster string, n, workers int) error {
	next := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := r.Register(ctx, inCluster(cluster, i, fmt.Sprintf("az-%c", 'a'+i%3))); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	func() {
		defer close(next)
		for i := range n {
			select {
			case next <- i:
			case err := <-errs:
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	return errors.Join(collect(errs)...)
}

func collect(errs <-chan error) []error {
	var out []error
	for err := range errs {
		out = append(out, err)
	}
	return out
}

// itErrors checks that a missing bucket fails fast with a clear message.
func itErrors(t *testing.T, client S3API) {
	r := newTestRegistry(t, client, func(c *RegistryConfig) { c.Bucket = "no-such-bucket-here" })
	_, err := r.List(context.Background())
	if err == nil {
		t.Fatal("List on a missing bucket succeeded")
	}
	if st := r.Stats(); st.List != 1 {
		t.Errorf("List attempts = %d, want 1: a missing bucket is not retried (%v)", st.List, err)
	}
	t.Logf("missing bucket: %v", err)
}
