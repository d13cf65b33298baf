package bootstrap

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/farmhand/farmhand/bootstrap/awscall"
)

// BucketHeader is the S3 call that checks a bucket answers; the client
// from NewS3Client (S3Calls) has it. The registry does not need it to
// work, so it is not part of S3API.
type BucketHeader interface {
	HeadBucket(ctx context.Context, params *s3.HeadBucketInput, optFns ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
}

// BucketStatus is the answer of one HEAD on the registry's bucket, as
// SmartFrog's S3 bucket components use it for liveness.
type BucketStatus struct {
	// Bucket is the bucket's name.
	Bucket string `json:"bucket"`
	// OK is set when the bucket answered the HEAD with 200.
	OK bool `json:"ok"`
	// Error says why not, in one line, when OK is not set.
	Error string `json:"error,omitempty"`
	// Checked is when the HEAD was sent.
	Checked time.Time `json:"checked"`
}

// HeadBucket sends one HeadBucket request (no retry: it answers an
// operator, now) and says whether the bucket answers. It is not counted in
// Stats: the registry's own work never calls it.
func (r *Registry) HeadBucket(ctx context.Context) BucketStatus {
	return HeadBucket(ctx, r.api, r.cfg.Bucket, r.clock.Now())
}

// HeadBucket asks api (which must implement BucketHeader) whether bucket
// answers a HEAD; now stamps the answer.
func HeadBucket(ctx context.Context, api any, bucket string, now time.Time) BucketStatus {
	st := BucketStatus{Bucket: bucket, Checked: now}
	h, ok := api.(BucketHeader)
	if !ok {
		st.Error = "this S3 client cannot send HeadBucket"
		return st
	}
	_, err := h.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if err == nil {
		st.OK = true
		return st
	}
	st.Error = bucketProblem(bucket, err)
	return st
}

// bucketProblem says in one line why a HEAD on bucket failed.
func bucketProblem(bucket string, err error) string {
	switch awscall.Classify(err) {
	case awscall.NotFound, awscall.NoSuchBucket:
		return fmt.Sprintf("bucket %q does not exist (404)", bucket)
	case awscall.AccessDenied:
		return fmt.Sprintf("access denied (403): S3 answers and the bucket exists, but this role may not HEAD it (s3:ListBucket on arn:aws:s3:::%s without a prefix condition)", bucket)
	case awscall.CredentialsRejected:
		return "credentials rejected; check the AWS credentials (instance role, AWS_ACCESS_KEY_ID, shared config)"
	case awscall.WrongRegion:
		return fmt.Sprintf("bucket %q is in another region (301); set the region", bucket)
	case awscall.Unreachable:
		return fmt.Sprintf("S3 unreachable: %v", err)
	default:
		return fmt.Sprintf("HEAD failed (%s): %v", awscall.Classify(err), err)
	}
}
