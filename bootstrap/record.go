package bootstrap

import (
	"net"
	"strconv"
	"time"
)

// RecordVersion is the schema version written into every registry record.
// Readers skip records of any other version.
const RecordVersion = 1

// Record is one node's registration under <prefix>/<cluster>/nodes/<name>.
// It is written once at boot and again only when a field changes; S3 is
// never used as a heartbeat.
type Record struct {
	// Version is the record schema version; always RecordVersion when written.
	Version int `json:"v"`
	// Cluster is the cluster name; records of other clusters are skipped.
	Cluster string `json:"cluster"`
	// Name is the member name, the EC2 instance id.
	Name string `json:"name"`
	// Addr is the private IPv4 address gossip listens on.
	Addr string `json:"addr"`
	// Port is the gossip port (TCP and UDP).
	Port int `json:"port"`
	// AZ is the availability zone, used to order join candidates.
	AZ string `json:"az,omitempty"`
	// Tags are the member's tags (role and user tags).
	Tags map[string]string `json:"tags,omitempty"`
	// AgentVersion is the farmhand version that wrote the record.
	AgentVersion string `json:"agent_version,omitempty"`
	// StartedAt is when the agent started; newer records are tried first.
	StartedAt time.Time `json:"started_at"`
	// Signature is an optional base64 HMAC-SHA256 over the record with
	// Signature empty, keyed by the registry signing key.
	Signature string `json:"sig,omitempty"`
}

// JoinAddr is the "ip:port" a joiner dials.
func (r Record) JoinAddr() string { return net.JoinHostPort(r.Addr, strconv.Itoa(r.Port)) }

// JoinAddrs are the join addresses of recs, in order.
func JoinAddrs(recs []Record) []string {
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.JoinAddr())
	}
	return out
}
