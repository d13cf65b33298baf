package bootstrap

// Identity is who this instance is, as IMDSv2 reports it or as config
// overrides it.
type Identity struct {
	// InstanceID is the EC2 instance id; it is also the member name.
	InstanceID string `json:"instance_id"`
	// PrivateIP is the primary private IPv4 address.
	PrivateIP string `json:"private_ip"`
	// AvailabilityZone is e.g. "eu-west-1a".
	AvailabilityZone string `json:"availability_zone"`
	// Region is e.g. "eu-west-1".
	Region string `json:"region"`
	// InstanceType is e.g. "m7g.large".
	InstanceType string `json:"instance_type"`
	// AMI is the image id the instance was launched from.
	AMI string `json:"ami_id"`
}
