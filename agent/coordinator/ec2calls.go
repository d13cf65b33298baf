package coordinator

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// ec2Calls adapts *ec2.Client to EC2API through method values, so that
// only these four of EC2's roughly 700 operations are linked into the
// binary. See bootstrap.S3Calls for why: holding *ec2.Client in an
// interface, or in a struct field that is, links all of them (about 19 MB).
type ec2Calls struct {
	run            func(context.Context, *ec2.RunInstancesInput, ...func(*ec2.Options)) (*ec2.RunInstancesOutput, error)
	describe       func(context.Context, *ec2.DescribeInstancesInput, ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
	describeStatus func(context.Context, *ec2.DescribeInstanceStatusInput, ...func(*ec2.Options)) (*ec2.DescribeInstanceStatusOutput, error)
	terminate      func(context.Context, *ec2.TerminateInstancesInput, ...func(*ec2.Options)) (*ec2.TerminateInstancesOutput, error)
}

// EC2Calls returns c as an EC2API that links only the coordinator's
// operations. Store the result, not c itself, in interface values.
func EC2Calls(c *ec2.Client) EC2API {
	return ec2Calls{run: c.RunInstances, describe: c.DescribeInstances, describeStatus: c.DescribeInstanceStatus, terminate: c.TerminateInstances}
}

func (e ec2Calls) RunInstances(ctx context.Context, in *ec2.RunInstancesInput, optFns ...func(*ec2.Options)) (*ec2.RunInstancesOutput, error) {
	return e.run(ctx, in, optFns...)
}

func (e ec2Calls) DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	return e.describe(ctx, in, optFns...)
}

func (e ec2Calls) DescribeInstanceStatus(ctx context.Context, in *ec2.DescribeInstanceStatusInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstanceStatusOutput, error) {
	return e.describeStatus(ctx, in, optFns...)
}

func (e ec2Calls) TerminateInstances(ctx context.Context, in *ec2.TerminateInstancesInput, optFns ...func(*ec2.Options)) (*ec2.TerminateInstancesOutput, error) {
	return e.terminate(ctx, in, optFns...)
}
