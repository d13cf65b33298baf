package bootstrap

import (
	"context"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/farmhand/farmhand/bootstrap/awscall"
)

// S3Config says how to reach the S3 (or S3-compatible) service that holds
// the registry.
type S3Config struct {
	// Region is the bucket's region; empty falls back to the standard AWS
	// config chain (AWS_REGION, shared config). Pass the identity's region
	// on EC2.
	Region string
	// Endpoint is an S3-compatible base URL such as http://127.0.0.1:7070
	// (versitygw, the testbed's embedded S3); empty uses AWS S3.
	Endpoint string
	// PathStyle addresses buckets as <endpoint>/<bucket>/<key>, which most
	// S3-compatible servers need.
	PathStyle bool
	// Credentials overrides the standard credential chain (env, shared
	// files, instance role) when non-nil; tests use static credentials.
	Credentials aws.CredentialsProvider
	// IMDSEndpoint is where the instance role's credentials are read, over
	// IMDSv2 only (see LoadAWSConfig); "" is the default.
	IMDSEndpoint string
	// HTTPClient replaces the SDK's HTTP client for S3 calls when non-nil,
	// so its owner can close idle connections; it then also carries any
	// custom CA bundle itself.
	HTTPClient *http.Client
}

// NewS3Client builds an S3 client from the standard AWS config chain with
// cfg's overrides. The SDK's own retries are off (one attempt per call):
// the Registry retries with jittered backoff itself and counts every
// attempt. For a custom Endpoint, checksums are only sent and checked where
// S3 requires them, since S3-compatible servers vary in support.
func NewS3Client(ctx context.Context, cfg S3Config) (S3API, error) {
	var opts []func(*config.LoadOptions) error
	if cfg.Credentials != nil {
		opts = append(opts, config.WithCredentialsProvider(cfg.Credentials))
	}
	awsCfg, err := LoadAWSConfig(ctx, cfg.Region, cfg.IMDSEndpoint, opts...)
	if err != nil {
		return nil, fmt.Errorf("loading AWS config for S3: %w; check AWS_* environment variables and ~/.aws/config", err)
	}
	if awsCfg.Region == "" {
		return nil, fmt.Errorf("no AWS region for S3: set the registry region in the config or AWS_REGION")
	}
	return S3Calls(s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.Retryer = aws.NopRetryer{}
		o.DisableLogOutputChecksumValidationSkipped = true
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
		o.UsePathStyle = cfg.PathStyle
		if cfg.HTTPClient != nil {
			o.HTTPClient = cfg.HTTPClient
		} else {
			o.HTTPClient = awscall.NewHTTPClient("")
		}
	})), nil
}
