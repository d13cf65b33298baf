package coordinator

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/farmhand/farmhand/membership"
)

// EC2API is the part of the EC2 API the coordinator calls; *ec2.Client
// satisfies it. Instances are tagged at launch (TagSpecifications), so the
// coordinator never calls CreateTags.
type EC2API interface {
	RunInstances(ctx context.Context, params *ec2.RunInstancesInput, optFns ...func(*ec2.Options)) (*ec2.RunInstancesOutput, error)
	DescribeInstances(ctx context.Context, params *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
	DescribeInstanceStatus(ctx context.Context, params *ec2.DescribeInstanceStatusInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstanceStatusOutput, error)
	TerminateInstances(ctx context.Context, params *ec2.TerminateInstancesInput, optFns ...func(*ec2.Options)) (*ec2.TerminateInstancesOutput, error)
}

// ObjectStore is the part of the S3 API the coordinator calls for the lease
// and the ledger; *s3.Client satisfies it. PutObject must honour IfNoneMatch
// and IfMatch and fail with 412 PreconditionFailed when they do not hold.
type ObjectStore interface {
	PutObject(ctx context.Context, params *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, params *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// View is this node's gossip view of the cluster. Members includes dead and
// left members until they are reaped; a member's group is its "role" tag.
type View interface {
	Members() []membership.Member
	LocalMember() membership.Member
}
