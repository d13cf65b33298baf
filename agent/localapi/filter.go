package localapi

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/farmhand/farmhand/membership"
)

// MemberFilter selects members. The zero value matches everyone. The server
// applies it (GET /v1/members); the client encodes it with Query.
type MemberFilter struct {
	// Status keeps members in this status (alive, draining, suspect, dead,
	// left); empty keeps all.
	Status string
	// Role keeps members whose TagRole tag equals Role; empty keeps all.
	Role string
	// Tags keeps members carrying every one of these tags with exactly these values.
	Tags map[string]string
}

// Query parameter names of GET /v1/members.
const (
	paramStatus = "status"
	paramRole   = "role"
	paramTag    = "tag"
)

// knownStatuses lists the member statuses in their natural order.
var knownStatuses = []membership.Status{
	membership.StatusAlive, membership.StatusDraining, membership.StatusSuspect, membership.StatusDead, membership.StatusLeft,
}

// ParseStatus checks that s names a member status.
func ParseStatus(s string) (membership.Status, error) {
	for _, k := range knownStatuses {
		if s == string(k) {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown member status %q: want alive, draining, suspect, dead or left", s)
}

// ParseTag splits "key=value"; the key must not be empty, the value may be.
func ParseTag(s string) (key, value string, err error) {
	key, value, ok := strings.Cut(s, "=")
	if !ok || key == "" {
		return "", "", fmt.Errorf("bad tag %q: want key=value", s)
	}
	return key, value, nil
}

// ParseMemberFilter reads a filter from GET /v1/members query parameters:
// status, role and tag=k=v (repeatable). Errors name the parameter.
func ParseMemberFilter(q url.Values) (MemberFilter, error) {
	var f MemberFilter
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		vals := q[name]
		switch name {
		case paramStatus, paramRole:
			if len(vals) > 1 {
				return f, fmt.Errorf("query parameter %s: given %d times, want at most once", name, len(vals))
			}
		case paramTag:
		default:
			return f, fmt.Errorf("unknown query parameter %q: want status, role or tag", name)
		}
	}
	if s := q.Get(paramStatus); s != "" {
		if _, err := ParseStatus(s); err != nil {
			return f, fmt.Errorf("query parameter status: %w", err)
		}
		f.Status = s
	}
	f.Role = q.Get(paramRole)
	for _, t := range q[paramTag] {
		k, v, err := ParseTag(t)
		if err != nil {
			return f, fmt.Errorf("query parameter tag: %w", err)
		}
		if f.Tags == nil {
			f.Tags = map[string]string{}
		}
		if prev, dup := f.Tags[k]; dup && prev != v {
			return f, fmt.Errorf("query parameter tag: key %q given twice with different values (%q, %q)", k, prev, v)
		}
		f.Tags[k] = v
	}
	return f, nil
}

// Query encodes f as GET /v1/members query parameters, the inverse of ParseMemberFilter.
func (f MemberFilter) Query() url.Values {
	q := url.Values{}
	if f.Status != "" {
		q.Set(paramStatus, f.Status)
	}
	if f.Role != "" {
		q.Set(paramRole, f.Role)
	}
	keys := make([]string, 0, len(f.Tags))
	for k := range f.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		q.Add(paramTag, k+"="+f.Tags[k])
	}
	return q
}

// Match reports whether m passes every condition of f.
func (f MemberFilter) Match(m membership.Member) bool {
	if f.Status != "" && string(m.Status) != f.Status {
		return false
	}
	if f.Role != "" && m.Tags[TagRole] != f.Role {
		return false
	}
	for k, want := range f.Tags {
		if got, ok := m.Tags[k]; !ok || got != want {
			return false
		}
	}
	return true
}

// String describes f for people, e.g. "status=alive, role=worker"; "" when f is empty.
func (f MemberFilter) String() string {
	var parts []string
	if f.Status != "" {
		parts = append(parts, "status="+f.Status)
	}
	if f.Role != "" {
		parts = append(parts, "role="+f.Role)
	}
	for _, t := range f.Query()[paramTag] {
		parts = append(parts, "tag "+t)
	}
	return strings.Join(parts, ", ")
}

// Select returns the members matching f, sorted by name. It does not modify ms.
func (f MemberFilter) Select(ms []membership.Member) []membership.Member {
	out := make([]membership.Member, 0, len(ms))
	for _, m := range ms {
		if f.Match(m) {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
