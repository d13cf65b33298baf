package bootstrap

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// s3Calls adapts *s3.Client to S3API through method values.
//
// It exists for the binary's size and the agent's memory. When a program
// can call methods by name through reflection (text/template, which the
// renderer uses, does), the Go linker keeps every exported method of each
// type held in an interface, and of the types of their fields. Holding
// *s3.Client so would link its hundred-odd operations with their
// serializers (and *ec2.Client its 700, about 19 MB); method values link
// only the four the registry and the coordinator call, and HeadBucket
// (BucketHeader) for liveness.
type s3Calls struct {
	put    func(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	get    func(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	list   func(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	delete func(context.Context, *s3.DeleteObjectInput, ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	head   func(context.Context, *s3.HeadBucketInput, ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
}

// S3Calls returns c as an S3API that links only the registry's operations.
// Store the result, not c itself, in interface values.
func S3Calls(c *s3.Client) S3API {
	return s3Calls{put: c.PutObject, get: c.GetObject, list: c.ListObjectsV2, delete: c.DeleteObject, head: c.HeadBucket}
}

func (s s3Calls) PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	return s.put(ctx, in, optFns...)
}

func (s s3Calls) GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return s.get(ctx, in, optFns...)
}

func (s s3Calls) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	return s.list(ctx, in, optFns...)
}

func (s s3Calls) DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	return s.delete(ctx, in, optFns...)
}

func (s s3Calls) HeadBucket(ctx context.Context, in *s3.HeadBucketInput, optFns ...func(*s3.Options)) (*s3.HeadBucketOutput, error) {
	return s.head(ctx, in, optFns...)
}
