package coordinator

import (
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The real SDK clients satisfy the interfaces.
var (
	_ EC2API      = (*ec2.Client)(nil)
	_ ObjectStore = (*s3.Client)(nil)
)
