package render

import (
	"sort"

	"github.com/farmhand/farmhand/membership"
)

// Data is what a template executes on. It holds no clock reading, so equal
// views always render equal bytes.
type Data struct {
	// Cluster is the cluster name.
	Cluster string
	// Local is this node's own member entry.
	Local membership.Member
	// Members are the members that pass the block's Filter, sorted by name
	// then address.
	Members []membership.Member
	// All is the whole view, sorted the same way.
	All []membership.Member
}

// NewData builds template data from a view: All is the sorted view and
// Members the sorted subset that passes f. The input slice is not modified.
//
// Addresses are not identities: EC2 hands a terminated instance's private
// address to a new instance. A dead or left member whose address (or
// hostOf name) a live member now holds is therefore dropped from both All
// and Members, so no template can put the live holder of that address in an
// exclude list (or, through a DECOMMISSIONED entry, out of an include
// list): the live member wins, and the old one's exclusion ends when its
// address is taken.
func NewData(cluster string, view []membership.Member, local membership.Member, f Filter) Data {
	all := sortedMembers(dropShadowed(view))
	members := make([]membership.Member, 0, len(all))
	for _, m := range all {
		if f.Match(m) {
			members = append(members, m)
		}
	}
	return Data{Cluster: cluster, Local: local, Members: members, All: all}
}

// sortedMembers returns a copy of ms sorted by name, then address.
func sortedMembers(ms []membership.Member) []membership.Member {
	out := append([]membership.Member(nil), ms...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Addr < out[j].Addr
	})
	return out
}

// dropShadowed returns view without the gone members whose address or
// Hadoop host name a live member holds (see NewData). The input slice is
// not modified.
func dropShadowed(view []membership.Member) []membership.Member {
	held := make(map[string]bool, 2*len(view))
	for _, m := range view {
		if isLive(m) {
			held[m.Addr] = true
			held[hostOf(m)] = true
		}
	}
	out := make([]membership.Member, 0, len(view))
	for _, m := range view {
		if isGone(m) && (held[m.Addr] || held[hostOf(m)]) {
			continue
		}
		out = append(out, m)
	}
	return out
}
