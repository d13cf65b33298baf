package ec2emu

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// params reads the ec2query encoding of one request: scalars by name,
// lists as Name.N (N from 1), structures as Name.Member.
type params url.Values

// str returns the value of name, or "".
func (p params) str(name string) string { return url.Values(p).Get(name) }

// has reports whether name was sent at all.
func (p params) has(name string) bool {
	_, ok := p[name]
	return ok
}

// integer returns the value of name as an int; ok is false when absent.
func (p params) integer(name string) (n int, ok bool, err *apiError) {
	if !p.has(name) {
		return 0, false, nil
	}
	v := p.str(name)
	n, perr := strconv.Atoi(v)
	if perr != nil {
		return 0, true, errInvalidParameterValue(name, v)
	}
	return n, true, nil
}

// boolean returns the value of name as a bool, false when absent.
func (p params) boolean(name string) (bool, *apiError) {
	if !p.has(name) {
		return false, nil
	}
	v := p.str(name)
	b, perr := strconv.ParseBool(v)
	if perr != nil {
		return false, errInvalidParameterValue(name, v)
	}
	return b, nil
}

// indices returns the sorted distinct N of keys prefix.N and prefix.N.*.
func (p params) indices(prefix string) []int {
	seen := map[int]bool{}
	for k := range p {
		rest, ok := strings.CutPrefix(k, prefix+".")
		if !ok {
			continue
		}
		head, _, _ := strings.Cut(rest, ".")
		if n, err := strconv.Atoi(head); err == nil && n >= 1 {
			seen[n] = true
		}
	}
	out := make([]int, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

// list returns the values of prefix.1, prefix.2, ... in index order.
func (p params) list(prefix string) []string {
	var out []string
	for _, n := range p.indices(prefix) {
		if v, ok := p[prefix+"."+strconv.Itoa(n)]; ok && len(v) > 0 {
			out = append(out, v[0])
		}
	}
	return out
}

// tags reads prefix.N.Key / prefix.N.Value pairs. A missing Key is a
// MissingParameter. "aws:" keys are the caller's to refuse (reservedTags).
func (p params) tags(prefix string) (map[string]string, *apiError) {
	out := map[string]string{}
	for _, n := range p.indices(prefix) {
		base := prefix + "." + strconv.Itoa(n)
		key := p.str(base + ".Key")
		if key == "" {
			return nil, errMissingParameter(base + ".Key")
		}
		out[key] = p.str(base + ".Value")
	}
	return out, nil
}

// filter is one Filter.N of a Describe call.
type filter struct {
	name   string
	values []string
}

// filters reads Filter.N.Name and Filter.N.Value.M.
func (p params) filters() ([]filter, *apiError) {
	var out []filter
	for _, n := range p.indices("Filter") {
		base := "Filter." + strconv.Itoa(n)
		name := p.str(base + ".Name")
		if name == "" {
			return nil, errMissingParameter(base + ".Name")
		}
		out = append(out, filter{name: name, values: p.list(base + ".Value")})
	}
	return out, nil
}

// fingerprint is a canonical form of every parameter except the ones
// named, for comparing two requests (ClientToken idempotency).
func (p params) fingerprint(except ...string) string {
	skip := map[string]bool{}
	for _, e := range except {
		skip[e] = true
	}
	keys := make([]string, 0, len(p))
	for k := range p {
		if !skip[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(url.QueryEscape(k))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(strings.Join(p[k], ",")))
		b.WriteByte('&')
	}
	return b.String()
}
