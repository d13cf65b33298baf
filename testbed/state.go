package testbed

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/farmhand/farmhand/agent/render"
)

// StateFile is the name of the file, in the testbed directory, that
// describes a running farm to the CLI verbs and to tests.
const StateFile = "testbed.json"

// ControlSocket is the unix socket, in the testbed directory, on which the
// running testbed takes chaos verbs.
const ControlSocket = "control.sock"

// State is DIR/testbed.json. It is rewritten atomically on every change.
type State struct {
	// Cluster is the farm's cluster name.
	Cluster string `json:"cluster"`
	// PID is the testbed process.
	PID int `json:"pid"`
	// Netns says instances run in network namespaces.
	Netns bool `json:"netns"`
	// Control is the control socket path.
	Control string `json:"control"`
	// S3 is where the registry lives.
	S3 S3State `json:"s3"`
	// EC2 is the EC2 Query API emulator.
	EC2 EC2State `json:"ec2"`
	// Instances are all instances launched so far, terminated ones included.
	Instances []InstanceState `json:"instances"`
	// Bridge is the bridge device in netns mode.
	Bridge string `json:"bridge,omitempty"`
}

// S3State says where the farm's S3 is.
type S3State struct {
	Endpoint string `json:"endpoint"`
	Bucket   string `json:"bucket"`
	Prefix   string `json:"prefix"`
	Region   string `json:"region"`
	// Embedded is true for the in-process S3 (which supports `s3 down`).
	Embedded bool `json:"embedded"`
}

// EC2State says where the EC2 emulator is.
type EC2State struct {
	Endpoint string `json:"endpoint"`
	Region   string `json:"region"`
	ImageID  string `json:"image_id"`
	// AutoScalingAccessKeyID is the access key id whose requests act as
	// Auto Scaling: they may set the aws:autoscaling:groupName tag (any
	// secret key works).
	AutoScalingAccessKeyID string `json:"autoscaling_access_key_id"`
}

// InstanceState is one instance as the testbed sees it.
type InstanceState struct {
	ID string `json:"id"`
	// IP is the private address. EC2 takes a terminated instance's back
	// and may give it to a later instance.
	IP string `json:"ip"`
	// Subnet is the subnet id (and so the zone) the instance is in.
	Subnet string `json:"subnet"`
	Socket string `json:"socket"`
	PID    int    `json:"pid"`
	// State is the EC2 state (pending, running, stopped, terminated) or, for
	// a running instance whose agent is not, "running (agent down)" etc.
	State string `json:"state"`
	// Agent is the agent process: running, exited, killed, paused.
	Agent string `json:"agent"`
	// Netns is the instance's network namespace in netns mode.
	Netns string `json:"netns,omitempty"`
	// IMDS is the instance's metadata endpoint (IMDSv2: PUT
	// /latest/api/token first), "" once it is terminated.
	IMDS string `json:"imds,omitempty"`
	// Log is the agent's log file.
	Log string `json:"log"`
	// Page is the URL of the farm page the instance's agent serves
	// (Config.UI: the first instance), "" for the others.
	Page string `json:"page,omitempty"`
	// Coordinator says the instance runs the coordinator.
	Coordinator bool `json:"coordinator,omitempty"`
	// Spot says the instance is a Spot Instance.
	Spot bool `json:"spot,omitempty"`
	// ASG is the Auto Scaling group that owns the instance, if any.
	ASG string `json:"asg,omitempty"`
	// Notices are what IMDS announces to the instance, e.g. "spot
	// interruption: terminate at 2026-03-01T12:02:00Z".
	Notices []string `json:"notices,omitempty"`
}

// ReadState reads DIR/testbed.json.
func ReadState(dir string) (*State, error) {
	path := filepath.Join(dir, StateFile)
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, fmt.Errorf("no testbed in %s (%s missing); start one with 'farmhand-testbed up -dir %s'", dir, StateFile, dir)
	}
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%s is corrupt: %w; run 'farmhand-testbed clean -dir %s'", path, err, dir)
	}
	return &s, nil
}

// Instance returns the instance with id, or an error naming the ids there are.
func (s *State) Instance(id string) (InstanceState, error) {
	for _, in := range s.Instances {
		if in.ID == id {
			return in, nil
		}
	}
	ids := make([]string, 0, len(s.Instances))
	for _, in := range s.Instances {
		ids = append(ids, in.ID)
	}
	return InstanceState{}, fmt.Errorf("no instance %q in this testbed; instances: %v", id, ids)
}

func writeState(dir string, s *State) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	_, err = render.WriteFile(filepath.Join(dir, StateFile), append(data, '\n'), 0o644)
	return err
}
