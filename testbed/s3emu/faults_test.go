package s3emu

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestSetErrorAnswersEveryRequestWithIt(t *testing.T) {
	s := startServer(t)
	c := sdkClient(t, s, nil)
	put(t, c, s.Bucket(), "kept", "data")
	for _, tc := range []struct {
		status int
		code   string
	}{{500, "InternalError"}, {503, "SlowDown"}, {503, "ServiceUnavailable"}} {
		s.SetError(tc.status, tc.code)
		_, err := c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String(s.Bucket()), Key: aws.String("kept")})
		wantAPIError(t, err, tc.code, tc.status)
		_, err = c.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket())})
		wantAPIError(t, err, tc.code, tc.status)
	}
	s.SetError(0, "")
	if _, err := c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String(s.Bucket()), Key: aws.String("kept")}); err != nil {
		t.Fatalf("GetObject after SetError(0): %v", err)
	}
	if got := s.Counts(); got != (Counts{Put: 1, Get: 4, List: 3}) {
		t.Errorf("Counts() = %+v: refused requests must count", got)
	}
}

func TestSetDelayHoldsEveryAnswer(t *testing.T) {
	s := startServer(t)
	c := sdkClient(t, s, nil)
	const d = 300 * time.Millisecond
	s.SetDelay(d)
	start := time.Now()
	put(t, c, s.Bucket(), "k", "v")
	if took := time.Since(start); took < d {
		t.Errorf("PutObject answered after %s with a %s delay", took, d)
	}

	// A client that gives up during the delay gets its own timeout.
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.GetObject(short, &s3.GetObjectInput{Bucket: aws.String(s.Bucket()), Key: aws.String("k")})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("GetObject with a 50ms deadline against a %s delay: %v, want deadline exceeded", d, err)
	}

	s.SetDelay(d)
	s.SetError(http.StatusInternalServerError, "InternalError")
	start = time.Now()
	_, err = c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String(s.Bucket()), Key: aws.String("k")})
	wantAPIError(t, err, "InternalError", 500)
	if took := time.Since(start); took < d {
		t.Errorf("a slow failure answered after %s, want at least %s", took, d)
	}
}

// listKeys pages through prefix with the SDK paginator (which follows
// continuation tokens), returning the keys and the number of pages.
func listKeys(t *testing.T, c *s3.Client, bucket string) (keys []string, pages int) {
	t.Helper()
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("n/")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatalf("ListObjectsV2: %v", err)
		}
		pages++
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys, pages
}

func TestTruncateAndEndListingsEarly(t *testing.T) {
	s := startServer(t)
	c := sdkClient(t, s, nil)
	for i := range 7 {
		put(t, c, s.Bucket(), fmt.Sprintf("n/%d", i), "x")
	}

	s.TruncateListings(3)
	keys, pages := listKeys(t, c, s.Bucket())
	if len(keys) != 7 || pages != 3 {
		t.Errorf("truncated to 3 keys a page: listed %d keys in %d pages, want 7 in 3", len(keys), pages)
	}
	out, err := c.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket()), Prefix: aws.String("n/")})
	if err != nil {
		t.Fatal(err)
	}
	if !aws.ToBool(out.IsTruncated) || aws.ToString(out.NextContinuationToken) == "" || len(out.Contents) != 3 {
		t.Errorf("first page: %d keys, truncated %v, token %q", len(out.Contents), aws.ToBool(out.IsTruncated), aws.ToString(out.NextContinuationToken))
	}

	s.TruncateListings(0)
	s.EndListingsEarly(2)
	keys, pages = listKeys(t, c, s.Bucket())
	if len(keys) != 2 || pages != 1 {
		t.Errorf("ending after 2 keys: listed %v in %d pages, want 2 keys in 1 page", keys, pages)
	}

	s.EndListingsEarly(0)
	if keys, _ = listKeys(t, c, s.Bucket()); len(keys) != 7 {
		t.Errorf("after the faults are off: listed %d keys, want 7", len(keys))
	}
}
