package bootstrap

import "strings"

// ClusterPrefix is <prefix>/<cluster>/, under which the registry keeps
// nodes/ and the coordinator keeps its lease and ledger.
func (r *Registry) ClusterPrefix() string {
	return r.cfg.Prefix + "/" + r.cfg.Cluster + "/"
}

// nodesPrefix is <prefix>/<cluster>/nodes/.
func (r *Registry) nodesPrefix() string {
	return r.ClusterPrefix() + "nodes/"
}

// Key is the object key of a node's record: <prefix>/<cluster>/nodes/<name>.
func (r *Registry) Key(name string) string {
	return r.nodesPrefix() + name
}

// nameFromKey returns the record name a key holds; ok is false for keys
// outside nodes/, the nodes/ directory marker, and nested keys.
func (r *Registry) nameFromKey(key string) (name string, ok bool) {
	name, found := strings.CutPrefix(key, r.nodesPrefix())
	if !found || name == "" || strings.Contains(name, "/") {
		return name, false
	}
	return name, true
}
