package testbed

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// The external bucket's lifecycle, as SmartFrog's TransientS3Bucket and
// PersistentS3Bucket have it: -s3-create-bucket creates the bucket at
// start and deletes it, with everything in it, at teardown, unless
// -s3-keep-bucket keeps it. A bucket that already existed is used and
// never deleted: the testbed deletes only what it created.

// createExternalBucket creates bucket at endpoint with env's credentials.
// created is false when the bucket already existed and belongs to the
// caller (BucketAlreadyOwnedByYou, or BucketAlreadyExists of a bucket that
// answers the caller's HEAD).
func createExternalBucket(ctx context.Context, endpoint, bucket string, env []string) (created bool, err error) {
	client, done := externalS3Client(endpoint, env)
	defer done()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	var ae smithy.APIError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ae) && ae.ErrorCode() == "BucketAlreadyOwnedByYou":
		return false, nil
	case errors.As(err, &ae) && ae.ErrorCode() == "BucketAlreadyExists":
		// AWS says so of another owner's bucket; some S3-compatible servers
		// of the caller's own. A HEAD that answers tells them apart.
		if _, herr := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); herr == nil {
			return false, nil
		}
		return false, fmt.Errorf("-s3-create-bucket: bucket %s exists at %s and belongs to someone else: pick another -s3-bucket", bucket, endpoint)
	case errors.As(err, &ae):
		return false, fmt.Errorf("-s3-create-bucket: creating bucket %s at %s: %s: %s", bucket, endpoint, ae.ErrorCode(), ae.ErrorMessage())
	default:
		return false, fmt.Errorf("-s3-create-bucket: creating bucket %s at %s: %w", bucket, endpoint, err)
	}
}

// removeExternalBucket deletes every object in bucket, then the bucket.
func removeExternalBucket(ctx context.Context, endpoint, bucket string, env []string) error {
	client, done := externalS3Client(endpoint, env)
	defer done()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var token *string
	for {
		out, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), ContinuationToken: token})
		if err != nil {
			return fmt.Errorf("removing bucket %s: listing it: %w", bucket, err)
		}
		for _, o := range out.Contents {
			if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: o.Key}); err != nil {
				return fmt.Errorf("removing bucket %s: deleting %s: %w", bucket, aws.ToString(o.Key), err)
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		token = out.NextContinuationToken
	}
	if _, err := client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return fmt.Errorf("removing bucket %s: %w", bucket, err)
	}
	return nil
}

// closeBucket removes the bucket this testbed created, unless told to keep
// it; the agents have stopped by then.
func (tb *Testbed) closeBucket() error {
	if !tb.createdBucket {
		return nil
	}
	if tb.cfg.S3KeepBucket {
		tb.logger.Info("keeping the bucket created for this farm (-s3-keep-bucket)", "bucket", tb.bucket, "endpoint", tb.s3URL)
		return nil
	}
	env, _ := externalS3Env(osGetenv)
	if err := removeExternalBucket(context.Background(), tb.s3URL, tb.bucket, env); err != nil {
		return err
	}
	tb.logger.Info("removed the bucket created for this farm", "bucket", tb.bucket, "endpoint", tb.s3URL)
	return nil
}
