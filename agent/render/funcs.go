package render

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"text/template"
	"unicode"

	"github.com/farmhand/farmhand/membership"
)

// Tag names the built-in templates read.
const (
	// TagRole is the tag Filter.Role matches.
	TagRole = "role"
	// TagHostname, when set, is the name hostOf returns instead of the
	// member's address.
	TagHostname = "hostname"
	// TagTomcatPort is the member's Tomcat Tribes receiver port; the
	// tomcat-static template uses DefaultTomcatPort when it is absent.
	TagTomcatPort = "tomcat_port"
	// DefaultTomcatPort is Tomcat's default NioReceiver port.
	DefaultTomcatPort = "4000"
)

// funcs are the helpers every template (built-in or user) may call. Helpers
// that take a member list take it last, so they work in pipelines:
// {{ .Members | live | hosts | join "," }}.
func funcs() template.FuncMap {
	return template.FuncMap{
		"join":       func(sep string, items []string) string { return strings.Join(items, sep) },
		"sortBy":     sortBy,
		"tag":        func(m membership.Member, key string) string { return m.Tags[key] },
		"tagOr":      tagOr,
		"hostOf":     hostOf,
		"hosts":      func(ms []membership.Member) []string { return mapMembers(ms, hostOf) },
		"addrs":      func(ms []membership.Member) []string { return mapMembers(ms, addrOf) },
		"live":       func(ms []membership.Member) []membership.Member { return keep(ms, isLive) },
		"gone":       func(ms []membership.Member) []membership.Member { return keep(ms, isGone) },
		"active":     func(ms []membership.Member) []membership.Member { return keep(ms, isActive) },
		"draining":   func(ms []membership.Member) []membership.Member { return keep(ms, isDraining) },
		"excluded":   func(ms []membership.Member) []membership.Member { return keep(ms, isExcluded) },
		"isLive":     isLive,
		"isGone":     isGone,
		"isActive":   isActive,
		"isDraining": isDraining,
		"isExcluded": isExcluded,
		"withStatus": withStatus,
		"withRole": func(role string, ms []membership.Member) []membership.Member {
			return keep(ms, Filter{Role: role}.Match)
		},
		"withTag": func(k, v string, ms []membership.Member) []membership.Member {
			return keep(ms, Filter{Tags: map[string]string{k: v}}.Match)
		},
		"withMember":     withMember,
		"json":           toJSON,
		"xml":            xmlEscape,
		"tomcatUniqueId": func(m membership.Member) string { return TomcatUniqueID(m.Name) },
		"tomcatPort":     func(m membership.Member) string { return tagOr(m, TagTomcatPort, DefaultTomcatPort) },
	}
}

// hostOf is the name Hadoop should use for m: its "hostname" tag, or else
// its address. A tag Hadoop's host-file reader would misread (see
// CheckHostname) is ignored: the address is always safe.
func hostOf(m membership.Member) string {
	if h := m.Tags[TagHostname]; h != "" && CheckHostname(h) == nil {
		return h
	}
	return m.Addr
}

// CheckHostname reports why h cannot be a host in a Hadoop host file:
// Hadoop's HostsFileReader splits lines on whitespace and cuts them at
// "#", so "dn 7" would be two hosts and "dn#7" the host "dn".
func CheckHostname(h string) error {
	if i := strings.IndexFunc(h, func(r rune) bool { return unicode.IsSpace(r) || r == '#' }); i >= 0 {
		return fmt.Errorf("%q contains %q: Hadoop's host files split names on whitespace and cut them at '#'", h, h[i:i+1])
	}
	return nil
}

// NoHost is the include-list entry written when a list would otherwise
// admit every node: Hadoop treats an include list with no usable entry
// (an empty dfs.hosts or YARN include file, or a dfs.hosts JSON without a
// NORMAL entry) as "admit everyone". 0.0.0.0 resolves, so the list is not
// empty, and no node ever registers from it. The built-in templates write
// it literally.
const NoHost = "0.0.0.0"

func addrOf(m membership.Member) string { return m.Addr }

func tagOr(m membership.Member, key, def string) string {
	if v, ok := m.Tags[key]; ok && v != "" {
		return v
	}
	return def
}

func mapMembers(ms []membership.Member, f func(membership.Member) string) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = f(m)
	}
	return out
}

func keep(ms []membership.Member, ok func(membership.Member) bool) []membership.Member {
	out := make([]membership.Member, 0, len(ms))
	for _, m := range ms {
		if ok(m) {
			out = append(out, m)
		}
	}
	return out
}

// withStatus keeps the members whose status is in the comma-separated list,
// e.g. {{ .All | withStatus "dead,left" }}.
func withStatus(list string, ms []membership.Member) ([]membership.Member, error) {
	var f Filter
	for _, s := range strings.Split(list, ",") {
		f.Status = append(f.Status, membership.Status(strings.TrimSpace(s)))
	}
	if err := f.validate(); err != nil {
		return nil, fmt.Errorf("withStatus: %w", err)
	}
	return keep(ms, f.Match), nil
}

// withMember returns ms plus m (unless a member of that name is already
// there), sorted by name then address.
func withMember(m membership.Member, ms []membership.Member) []membership.Member {
	for _, x := range ms {
		if x.Name == m.Name {
			return ms
		}
	}
	return sortedMembers(append(append([]membership.Member(nil), ms...), m))
}

// sortBy returns a copy of ms sorted by key: name, addr (numeric for IPs),
// port, status, or else the value of the tag of that name. Ties keep the
// name-then-address order.
func sortBy(key string, ms []membership.Member) ([]membership.Member, error) {
	if key == "" {
		return nil, fmt.Errorf("sortBy: empty key; use name, addr, port, status or a tag name")
	}
	out := sortedMembers(ms)
	var less func(a, b membership.Member) bool
	switch key {
	case "name":
		return out, nil
	case "addr":
		less = func(a, b membership.Member) bool { return addrLess(a.Addr, b.Addr) }
	case "port":
		less = func(a, b membership.Member) bool { return a.Port < b.Port }
	case "status":
		less = func(a, b membership.Member) bool { return a.Status < b.Status }
	default:
		less = func(a, b membership.Member) bool { return a.Tags[key] < b.Tags[key] }
	}
	sort.SliceStable(out, func(i, j int) bool { return less(out[i], out[j]) })
	return out, nil
}

// addrLess orders IP addresses numerically and anything else as strings,
// after all IPs.
func addrLess(a, b string) bool {
	ia, errA := netip.ParseAddr(a)
	ib, errB := netip.ParseAddr(b)
	switch {
	case errA == nil && errB == nil:
		return ia.Less(ib)
	case errA == nil:
		return true
	case errB == nil:
		return false
	}
	return a < b
}

// toJSON encodes v as compact JSON with sorted map keys.
func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("json: %w", err)
	}
	return string(b), nil
}

// xmlEscape escapes s for use in XML text or a quoted attribute value.
func xmlEscape(s string) (string, error) {
	var buf bytes.Buffer
	if err := xml.EscapeText(&buf, []byte(s)); err != nil {
		return "", fmt.Errorf("xml: %w", err)
	}
	return buf.String(), nil
}
