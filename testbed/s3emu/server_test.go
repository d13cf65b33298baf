package s3emu

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/farmhand/farmhand/testbed/testutil"
)

func put(t *testing.T, c *s3.Client, bucket, key, body string) *s3.PutObjectOutput {
	t.Helper()
	out, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	if err != nil {
		t.Fatalf("PutObject %s: %v", key, err)
	}
	return out
}

func TestObjectsAndCounts(t *testing.T) {
	s := startServer(t)
	c := sdkClient(t, s, nil)
	b := s.Bucket()
	for _, k := range []string{"fh/c1/nodes/i-1", "fh/c1/nodes/i-2", "fh/c1/nodes/i-3"} {
		put(t, c, b, k, `{"name":"`+k+`"}`)
	}

	var keys []string
	pages := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(b), Prefix: aws.String("fh/c1/nodes/"), MaxKeys: aws.Int32(2)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx(t))
		if err != nil {
			t.Fatalf("ListObjectsV2: %v", err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	if strings.Join(keys, ",") != "fh/c1/nodes/i-1,fh/c1/nodes/i-2,fh/c1/nodes/i-3" {
		t.Errorf("listed %v", keys)
	}

	got, err := c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("fh/c1/nodes/i-2")})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if string(body) != `{"name":"fh/c1/nodes/i-2"}` {
		t.Errorf("GetObject = %q", body)
	}
	if _, err := c.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("fh/c1/nodes/i-3")}); err != nil {
		t.Errorf("HeadObject: %v", err)
	}
	if _, err := c.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("fh/c1/nodes/i-1")}); err != nil {
		t.Errorf("DeleteObject: %v", err)
	}
	_, err = c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("fh/c1/nodes/i-1")})
	wantAPIError(t, err, "NoSuchKey", http.StatusNotFound)

	want := Counts{Put: 3, List: 2, Get: 2, Head: 1, Delete: 1}
	if got := s.Counts(); got != want || got.Total() != 9 {
		t.Errorf("Counts() = %+v (total %d), want %+v", got, got.Total(), want)
	}
	if got := s.CountsFrom("127.0.0.1"); got != want {
		t.Errorf("CountsFrom(127.0.0.1) = %+v, want %+v", got, want)
	}
	s.ResetCounts()
	if got := s.Counts(); got.Total() != 0 || len(s.Clients()) != 0 {
		t.Errorf("after ResetCounts: %+v, clients %v", got, s.Clients())
	}
}

func TestCountsPerClientAddress(t *testing.T) {
	s := startServer(t)
	ipA, ipB := testutil.TakeIP(t), testutil.TakeIP(t)
	a, b := sdkClient(t, s, ipA), sdkClient(t, s, ipB)
	put(t, a, s.Bucket(), "a1", "x")
	put(t, a, s.Bucket(), "a2", "x")
	if _, err := b.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket())}); err != nil {
		t.Fatal(err)
	}
	if got := s.CountsFrom(ipA.String()); got != (Counts{Put: 2}) {
		t.Errorf("counts from %s = %+v, want 2 PUTs", ipA, got)
	}
	if got := s.CountsFrom(ipB.String()); got != (Counts{List: 1}) {
		t.Errorf("counts from %s = %+v, want 1 LIST", ipB, got)
	}
	if n := len(s.Clients()); n != 2 {
		t.Errorf("Clients() has %d addresses, want 2", n)
	}
}

func TestConditionalWrites(t *testing.T) {
	s := startServer(t)
	c := sdkClient(t, s, nil)
	b, key := aws.String(s.Bucket()), aws.String("fh/c1/lease")

	first, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: b, Key: key, Body: strings.NewReader("epoch 1"), IfNoneMatch: aws.String("*")})
	if err != nil {
		t.Fatalf("create with If-None-Match: *: %v", err)
	}
	_, err = c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: b, Key: key, Body: strings.NewReader("epoch 1 again"), IfNoneMatch: aws.String("*")})
	wantAPIError(t, err, "PreconditionFailed", http.StatusPreconditionFailed)

	second, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: b, Key: key, Body: strings.NewReader("epoch 2"), IfMatch: first.ETag})
	if err != nil {
		t.Fatalf("renew with If-Match: %v", err)
	}
	if aws.ToString(second.ETag) == aws.ToString(first.ETag) {
		t.Fatalf("ETag did not change: %s", aws.ToString(second.ETag))
	}
	_, err = c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: b, Key: key, Body: strings.NewReader("stale epoch"), IfMatch: first.ETag})
	wantAPIError(t, err, "PreconditionFailed", http.StatusPreconditionFailed)
	// gofakes3 answers If-Match on a missing key with 412 (AWS says 404 NoSuchKey).
	_, err = c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: b, Key: aws.String("nothing"), Body: strings.NewReader("x"), IfMatch: first.ETag})
	wantAPIError(t, err, "PreconditionFailed", http.StatusPreconditionFailed)

	got, err := c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: b, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if string(body) != "epoch 2" || aws.ToString(got.ETag) != aws.ToString(second.ETag) {
		t.Errorf("lease holds %q (etag %s), want epoch 2 (etag %s)", body, aws.ToString(got.ETag), aws.ToString(second.ETag))
	}
}

func TestConditionalCreateHasOneWinner(t *testing.T) {
	s := startServer(t)
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := 0; i < n; i++ {
		c := sdkClient(t, s, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String(s.Bucket()), Key: aws.String("lease"),
				Body: strings.NewReader("candidate"), IfNoneMatch: aws.String("*")})
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d of %d racing If-None-Match: * writes succeeded, want exactly 1", wins, n)
	}
}

func TestDown(t *testing.T) {
	s := startServer(t)
	c := sdkClient(t, s, nil)
	put(t, c, s.Bucket(), "kept", "data")
	s.SetDown(true)

	_, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String(s.Bucket()), Key: aws.String("k"), Body: strings.NewReader("x")})
	wantAPIError(t, err, "SlowDown", http.StatusServiceUnavailable)
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) != aws.TrueTernary {
		t.Errorf("the SDK does not see %v as throttling", err)
	}
	_, err = c.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket())})
	wantAPIError(t, err, "SlowDown", http.StatusServiceUnavailable)
	_, err = c.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: aws.String(s.Bucket()), Key: aws.String("kept")})
	if err == nil {
		t.Error("HeadObject succeeded while down")
	}
	if got := s.Counts(); got != (Counts{Put: 2, List: 1, Head: 1}) {
		t.Errorf("Counts() = %+v: requests refused while down must count", got)
	}

	// The raw answer is S3's error document.
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/farmhand/kept", nil))
	if rec.Code != 503 || !bytes.Contains(rec.Body.Bytes(), []byte("<Error><Code>SlowDown</Code>")) || rec.Header().Get("x-amz-request-id") == "" {
		t.Errorf("down answer: %d %s", rec.Code, rec.Body)
	}

	s.SetDown(false)
	got, err := c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String(s.Bucket()), Key: aws.String("kept")})
	if err != nil {
		t.Fatalf("GetObject after SetDown(false): %v", err)
	}
	body, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if string(body) != "data" {
		t.Errorf("after the outage the object holds %q", body)
	}
}

func TestBackendSeedingIsNotCounted(t *testing.T) {
	s := startServer(t)
	garbage := "{not json"
	if _, err := s.Backend().PutObject(s.Bucket(), "fh/c1/nodes/i-bad", nil, strings.NewReader(garbage), int64(len(garbage)), nil); err != nil {
		t.Fatal(err)
	}
	got, err := sdkClient(t, s, nil).GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String(s.Bucket()), Key: aws.String("fh/c1/nodes/i-bad")})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if string(body) != garbage {
		t.Errorf("seeded object reads %q", body)
	}
	if c := s.Counts(); c != (Counts{Get: 1}) {
		t.Errorf("Counts() = %+v, want the one GET only", c)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		method, target string
		want           Kind
	}{
		{"GET", "/b/k", KindGet}, {"GET", "/b/a/b/c", KindGet}, {"GET", "/b?list-type=2&prefix=x", KindList},
		{"GET", "/b/", KindList}, {"GET", "/", KindList}, {"PUT", "/b/k", KindPut}, {"PUT", "/b", KindOther},
		{"DELETE", "/b/k", KindDelete}, {"DELETE", "/b", KindOther}, {"HEAD", "/b/k", KindHead}, {"HEAD", "/b", KindHead},
		{"POST", "/b?delete", KindDelete}, {"POST", "/b/k?uploads", KindOther},
	} {
		if got := classify(httptest.NewRequest(tc.method, tc.target, nil)); got != tc.want {
			t.Errorf("%s %s = %s, want %s", tc.method, tc.target, got, tc.want)
		}
	}
}

func TestNewRejectsBadBucket(t *testing.T) {
	for _, name := range []string{"", "Not_A_Bucket!"} {
		if _, err := New(Config{Bucket: name}); err == nil {
			t.Errorf("New accepted bucket %q", name)
		}
	}
}
