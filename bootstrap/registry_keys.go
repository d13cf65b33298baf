package bootstrap

import (
	"net"
	"strconv"
	"strings"
)

// noAZ stands in a key for an empty availability zone.
const noAZ = "-"

// ClusterPrefix is <prefix>/<cluster>/, under which the registry keeps
// nodes/ and the coordinator keeps its lease and ledger.
func (r *Registry) ClusterPrefix() string {
	return r.cfg.Prefix + "/" + r.cfg.Cluster + "/"
}

// nodesPrefix is <prefix>/<cluster>/nodes/.
func (r *Registry) nodesPrefix() string {
	return r.ClusterPrefix() + "nodes/"
}

// nodePrefix is <prefix>/<cluster>/nodes/<name>/, under which the keys of
// one node's records live.
func (r *Registry) nodePrefix(name string) string {
	return r.nodesPrefix() + name + "/"
}

// Key is the object key of rec's record:
//
//	<prefix>/<cluster>/nodes/<name>/<az>/<ip>:<port>
//
// Everything a joiner needs is in the key, so discovery reads a listing and
// no record bodies (see Candidates). An empty AZ is written as "-"; an IPv6
// address is written bare, the port after its last colon.
func (r *Registry) Key(rec Record) string {
	az := rec.AZ
	if az == "" {
		az = noAZ
	}
	return r.nodePrefix(rec.Name) + az + "/" + rec.Addr + ":" + strconv.Itoa(rec.Port)
}

// keyFormat is the key layout as error messages show it.
const keyFormat = "nodes/<instance-id>/<az>/<ip>:<port>"

// parseKey returns the record a key names: cluster, name, AZ, address and
// port, the version set and nothing else. marker is set for the nodes/
// directory marker, which is no record and no garbage either; otherwise a
// non-empty problem says why the key cannot be a record's.
func (r *Registry) parseKey(key string) (rec Record, marker bool, problem string) {
	rest, found := strings.CutPrefix(key, r.nodesPrefix())
	if !found {
		return rec, false, "outside " + r.nodesPrefix()
	}
	if strings.Trim(rest, "/") == "" {
		return rec, true, ""
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return rec, false, "key is not " + keyFormat
	}
	i := strings.LastIndexByte(parts[2], ':')
	if i < 0 {
		return rec, false, "key is not " + keyFormat + ": no port"
	}
	host := parts[2][:i]
	port, err := strconv.Atoi(parts[2][i+1:])
	if err != nil || port < 1 || port > 65535 {
		return rec, false, "key's port " + strconv.Quote(parts[2][i+1:]) + " is not in 1..65535"
	}
	if net.ParseIP(host) == nil {
		return rec, false, "key's address " + strconv.Quote(host) + " is not an IP address"
	}
	az := parts[1]
	if az == noAZ {
		az = ""
	}
	return Record{Version: RecordVersion, Cluster: r.cfg.Cluster, Name: parts[0], AZ: az, Addr: host, Port: port}, false, ""
}
