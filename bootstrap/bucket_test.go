package bootstrap

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestHeadBucketAgainstS3Servers checks the liveness HEAD: the registry's
// bucket answers, a missing bucket is named as missing, and a client
// without HeadBucket says so instead of failing.
func TestHeadBucketAgainstS3Servers(t *testing.T) {
	requireIntegration(t)
	for _, srv := range s3Servers {
		t.Run(srv.name, func(t *testing.T) {
			api := srv.start(t)
			cfg := DefaultRegistryConfig()
			cfg.Bucket, cfg.Cluster = itBucket, "c1"
			reg, err := NewRegistry(api, cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if st := reg.HeadBucket(ctx); !st.OK || st.Error != "" || st.Bucket != itBucket {
				t.Errorf("HEAD on the existing bucket = %+v, want OK", st)
			}
			st := HeadBucket(ctx, api, "no-such-bucket-here", time.Now())
			if st.OK || !strings.Contains(st.Error, `bucket "no-such-bucket-here" does not exist`) {
				t.Errorf("HEAD on a missing bucket = %+v, want not OK and named missing", st)
			}
		})
	}
	st := HeadBucket(context.Background(), struct{ S3API }{}, "b", time.Now())
	if st.OK || !strings.Contains(st.Error, "cannot send HeadBucket") {
		t.Errorf("HEAD through a client without HeadBucket = %+v", st)
	}
}
