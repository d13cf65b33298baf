package testbed

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/farmhand/farmhand/bootstrap/awscall"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// headBucket reports whether bucket answers a HEAD at endpoint.
func headBucket(t *testing.T, c *s3.Client, bucket string) bool {
	t.Helper()
	_, err := c.HeadBucket(context.Background(), &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if err != nil && !awscall.Is(err, awscall.NotFound) && !awscall.Is(err, awscall.NoSuchBucket) {
		t.Fatalf("HEAD %s: %v", bucket, err)
	}
	return err == nil
}

// `up -s3-endpoint ... -s3-create-bucket` creates the bucket and removes
// it, objects and all, at teardown; with -s3-keep-bucket it stays; a
// bucket that already existed is used and never removed.
func TestExternalBucketLifecycle(t *testing.T) {
	needE2E(t)
	for _, srv := range testutil.S3Servers {
		t.Run(srv.Name, func(t *testing.T) {
			endpoint := srv.Start(t, "existing")
			c := testutil.NewS3Client(endpoint)
			clearS3Credentials(t)
			t.Setenv("AWS_ACCESS_KEY_ID", testutil.S3AccessKey)
			t.Setenv("AWS_SECRET_ACCESS_KEY", testutil.S3SecretKey)
			start := func(bucket string, keep bool) *Testbed {
				t.Helper()
				cfg := DefaultConfig()
				cfg.Dir, cfg.Nodes, cfg.Bin = shortDir(t), 0, testutil.FarmhandBinary(t)
				cfg.S3Endpoint, cfg.S3Bucket, cfg.S3CreateBucket, cfg.S3KeepBucket = endpoint, bucket, true, keep
				tb, err := Start(testutil.Context(t), cfg)
				if err != nil {
					t.Fatalf("Start with -s3-create-bucket %s: %v", bucket, err)
				}
				return tb
			}

			tb := start("transient", false)
			if !headBucket(t, c, "transient") {
				t.Fatal("-s3-create-bucket: the bucket does not answer a HEAD after Start")
			}
			for _, k := range []string{"farmhand/testbed/nodes/i-1/-/127.0.0.1:7946", "farmhand/testbed/view.json"} {
				if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("transient"), Key: aws.String(k), Body: strings.NewReader("{}")}); err != nil {
					t.Fatal(err)
				}
			}
			if err := tb.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if headBucket(t, c, "transient") {
				t.Error("the bucket created by -s3-create-bucket is still there after teardown")
			}

			tb = start("persistent", true)
			if err := tb.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if !headBucket(t, c, "persistent") {
				t.Error("-s3-keep-bucket: the bucket was removed at teardown")
			}

			tb = start("existing", false)
			if err := tb.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if !headBucket(t, c, "existing") {
				t.Error("a bucket that existed before the testbed was removed at teardown")
			}
		})
	}
}

func TestBucketFlagsNeedAnEndpoint(t *testing.T) {
	for _, tc := range []struct {
		mutate func(*Config)
		want   string
	}{
		{func(c *Config) { c.S3CreateBucket = true }, "-s3-create-bucket needs -s3-endpoint"},
		{func(c *Config) { c.S3Endpoint, c.S3Bucket, c.S3KeepBucket = "http://127.0.0.1:1", "b", true }, "-s3-keep-bucket needs -s3-create-bucket"},
	} {
		cfg := DefaultConfig()
		cfg.Dir = t.TempDir()
		tc.mutate(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate = %v, want %q", err, tc.want)
		}
	}
}
