package agent

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/bootstrap/awscall"
	"github.com/farmhand/farmhand/testbed/ec2emu"
)

// The pruner's EC2 question, against the EC2 emulator: a running and a
// terminated instance answer with their states, an unknown id is absent
// (not an error, thanks to the instance-id filter).
func TestPruneInstanceStatesFromEC2(t *testing.T) {
	e, err := ec2emu.Start("127.0.0.1:0", ec2emu.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	api := ec2.New(ec2.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.URL()),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), HTTPClient: awscall.NewHTTPClient("")})
	ctx := context.Background()
	out, err := api.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), MinCount: aws.Int32(2), MaxCount: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	a, b := *out.Instances[0].InstanceId, *out.Instances[1].InstanceId
	if err := e.SetState(a, ec2emu.StateRunning); err != nil {
		t.Fatal(err)
	}
	if err := e.SetState(b, ec2emu.StateTerminated); err != nil {
		t.Fatal(err)
	}
	states, err := instanceStates(coordinator.EC2Calls(api))(ctx, []string{a, b, "i-0123456789abcdef1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 2 || states[a] != "running" || states[b] != "terminated" {
		t.Fatalf("states %v, want %s running, %s terminated, the unknown id absent", states, a, b)
	}
}

// deniedEC2 answers DescribeInstances as EC2 does for a role without the
// permission.
type deniedEC2 struct{ coordinator.EC2API }

func (deniedEC2) DescribeInstances(context.Context, *ec2.DescribeInstancesInput, ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	return nil, &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: http.StatusForbidden}},
		Err:      &smithy.GenericAPIError{Code: "UnauthorizedOperation", Message: "You are not authorized to perform this operation."},
	}}
}

// A refusal by IAM is bootstrap.ErrEC2NotAllowed, which the pruner logs
// once before it prunes on gossip evidence alone.
func TestPruneInstanceStatesNotAllowed(t *testing.T) {
	_, err := instanceStates(deniedEC2{})(context.Background(), []string{"i-0123456789abcdef0"})
	if !errors.Is(err, bootstrap.ErrEC2NotAllowed) {
		t.Fatalf("error %v, want ErrEC2NotAllowed", err)
	}
}
