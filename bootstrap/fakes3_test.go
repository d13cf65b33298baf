package bootstrap

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// fakeS3 is an in-memory S3API for unit tests: one bucket, If-None-Match
// on PUT, pagination, and error injection.
type fakeS3 struct {
	mu       sync.Mutex
	bucket   string
	objects  map[string]fakeObject
	now      time.Time // LastModified of the next write; advances 1s per write
	pageSize int
	// fail, when set, is asked before each request; a non-nil error is
	// returned instead of serving it.
	fail func(op, key string) error
	// noConditional makes conditional PUTs fail with 501 NotImplemented.
	noConditional bool
	// puts records every PutObject that was served.
	puts []fakePut
	// inflight and maxInflight track concurrent GETs.
	inflight, maxInflight int
}

type fakeObject struct {
	body     []byte
	modified time.Time
}

type fakePut struct {
	key         string
	ifNoneMatch string
}

func newFakeS3(bucket string) *fakeS3 {
	return &fakeS3{
		bucket:   bucket,
		objects:  map[string]fakeObject{},
		now:      time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		pageSize: 1000,
	}
}

// apiError builds an error shaped like the SDK's for an S3 error reply.
func apiError(status int, code string) error {
	return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
		Err:      &smithy.GenericAPIError{Code: code, Message: code},
	}}
}

// putRaw stores body under key as if some other writer put it.
func (f *fakeS3) putRaw(key string, body []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.storeLocked(key, body)
}

func (f *fakeS3) storeLocked(key string, body []byte) {
	f.objects[key] = fakeObject{body: bytes.Clone(body), modified: f.now}
	f.now = f.now.Add(time.Second)
}

func (f *fakeS3) body(key string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.objects[key]
	return o.body, ok
}

func (f *fakeS3) check(op, key string) error {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail != nil {
		return fail(op, key)
	}
	return nil
}

func (f *fakeS3) bucketOK(b *string) error {
	if aws.ToString(b) != f.bucket {
		return apiError(http.StatusNotFound, "NoSuchBucket")
	}
	return nil
}

func (f *fakeS3) PutObject(ctx context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	key := aws.ToString(in.Key)
	if err := f.check("PutObject", key); err != nil {
		return nil, err
	}
	if err := f.bucketOK(in.Bucket); err != nil {
		return nil, err
	}
	body, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	inm := aws.ToString(in.IfNoneMatch)
	if inm != "" && f.noConditional {
		return nil, apiError(http.StatusNotImplemented, "NotImplemented")
	}
	if _, exists := f.objects[key]; exists && inm == "*" {
		return nil, apiError(http.StatusPreconditionFailed, "PreconditionFailed")
	}
	f.puts = append(f.puts, fakePut{key: key, ifNoneMatch: inm})
	f.storeLocked(key, body)
	return &s3.PutObjectOutput{}, nil
}

func (f *fakeS3) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	key := aws.ToString(in.Key)
	f.mu.Lock()
	f.inflight++
	f.maxInflight = max(f.maxInflight, f.inflight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inflight--
		f.mu.Unlock()
	}()
	if err := f.check("GetObject", key); err != nil {
		return nil, err
	}
	if err := f.bucketOK(in.Bucket); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.objects[key]
	if !ok {
		return nil, apiError(http.StatusNotFound, "NoSuchKey")
	}
	return &s3.GetObjectOutput{
		Body:          io.NopCloser(bytes.NewReader(o.body)),
		ContentLength: aws.Int64(int64(len(o.body))),
		LastModified:  aws.Time(o.modified),
	}, nil
}

func (f *fakeS3) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	prefix := aws.ToString(in.Prefix)
	if err := f.check("ListObjectsV2", prefix); err != nil {
		return nil, err
	}
	if err := f.bucketOK(in.Bucket); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var keys []string
	for k := range f.objects {
		if strings.HasPrefix(k, prefix) && k > aws.ToString(in.ContinuationToken) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := &s3.ListObjectsV2Output{IsTruncated: aws.Bool(false)}
	if len(keys) > f.pageSize {
		keys = keys[:f.pageSize]
		out.IsTruncated = aws.Bool(true)
		out.NextContinuationToken = aws.String(keys[len(keys)-1])
	}
	for _, k := range keys {
		o := f.objects[k]
		out.Contents = append(out.Contents, types.Object{
			Key:          aws.String(k),
			Size:         aws.Int64(int64(len(o.body))),
			LastModified: aws.Time(o.modified),
		})
	}
	out.KeyCount = aws.Int32(int32(len(out.Contents)))
	return out, nil
}

func (f *fakeS3) DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, _ ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	key := aws.ToString(in.Key)
	if err := f.check("DeleteObject", key); err != nil {
		return nil, err
	}
	if err := f.bucketOK(in.Bucket); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.objects, key)
	return &s3.DeleteObjectOutput{}, nil
}
