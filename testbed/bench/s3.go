package main

import (
	"context"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/testbed/s3emu"
)

// benchBucket is the bucket the embedded S3 serves the registry from.
const benchBucket = "farmhand-bench"

// s3Counts is what the embedded S3 (testbed/s3emu, which classifies
// requests as S3 bills them) served, in the harness's arithmetic.
type s3Counts struct {
	Put, Get, List, Delete, Other int64
}

// countsOf converts s3emu's counts; HEAD is billed like GET and kept with
// the other kinds.
func countsOf(c s3emu.Counts) s3Counts {
	return s3Counts{int64(c.Put), int64(c.Get), int64(c.List), int64(c.Delete), int64(c.Head + c.Other)}
}

// Total is every request.
func (c s3Counts) Total() int64 { return c.Put + c.Get + c.List + c.Delete + c.Other }

// sub returns c-o.
func (c s3Counts) sub(o s3Counts) s3Counts {
	return s3Counts{c.Put - o.Put, c.Get - o.Get, c.List - o.List, c.Delete - o.Delete, c.Other - o.Other}
}

// startS3 serves an in-memory S3 with benchBucket on a loopback port.
func startS3() (*s3emu.Server, error) {
	return s3emu.Start("127.0.0.1:0", s3emu.Config{Bucket: benchBucket})
}

// s3Client returns an aws-sdk-go-v2 S3 client for the embedded server.
func s3Client(ctx context.Context, e *s3emu.Server, hc *http.Client) (bootstrap.S3API, error) {
	return bootstrap.NewS3Client(ctx, bootstrap.S3Config{
		Region:      "us-east-1",
		Endpoint:    e.URL(),
		PathStyle:   true,
		Credentials: credentials.NewStaticCredentialsProvider("bench", "bench", ""),
		HTTPClient:  hc,
	})
}
