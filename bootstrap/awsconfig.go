package bootstrap

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// LoadAWSConfig loads the standard AWS configuration chain (environment,
// shared files, then the instance role) for region ("" leaves it to the
// chain), with one change: the instance role's credentials are read over
// IMDSv2 only. The SDK's own IMDS client falls back to IMDSv1 when the
// token request fails (a 403, 404 or 405, or no answer: a hop limit of 1
// inside a container); identity already refuses that, and so do
// credentials. imdsEndpoint is the IMDS base URL ("": the SDK's default,
// AWS_EC2_METADATA_SERVICE_ENDPOINT or 169.254.169.254). opts are further
// load options (e.g. static credentials, which replace the chain).
func LoadAWSConfig(ctx context.Context, region, imdsEndpoint string, opts ...func(*config.LoadOptions) error) (aws.Config, error) {
	all := []func(*config.LoadOptions) error{
		config.WithEC2RoleCredentialOptions(func(o *ec2rolecreds.Options) {
			o.Client = imds.New(imds.Options{Endpoint: imdsEndpoint, EnableFallback: aws.FalseTernary})
		}),
	}
	if region != "" {
		all = append(all, config.WithRegion(region))
	}
	return config.LoadDefaultConfig(ctx, append(all, opts...)...)
}
