package ec2emu

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// field returns the values an instance has for one filter name.
type field func(in *instance) []string

// instanceFields are the DescribeInstances filters the emulator knows,
// besides tag:KEY.
var instanceFields = map[string]field{
	"instance-id":         func(in *instance) []string { return []string{in.ID} },
	"instance-state-name": func(in *instance) []string { return []string{string(in.State)} },
	"instance-state-code": func(in *instance) []string { return []string{strconv.Itoa(in.State.Code())} },
	"instance-type":       func(in *instance) []string { return []string{in.InstanceType} },
	"image-id":            func(in *instance) []string { return []string{in.ImageID} },
	"private-ip-address": func(in *instance) []string {
		if !in.holdsIP {
			return nil // a terminated instance has no address any more
		}
		return []string{in.PrivateIP}
	},
	"subnet-id":         func(in *instance) []string { return []string{in.SubnetID} },
	"vpc-id":            func(in *instance) []string { return []string{in.VpcID} },
	"availability-zone": func(in *instance) []string { return []string{in.AvailabilityZone} },
	"reservation-id":    func(in *instance) []string { return []string{in.ReservationID} },
	"client-token":      func(in *instance) []string { return []string{in.ClientToken} },
	"instance-lifecycle": func(in *instance) []string {
		if in.InstanceLifecycle == "" {
			return nil // on demand: EC2 leaves it out
		}
		return []string{in.InstanceLifecycle}
	},
	"spot-instance-request-id": func(in *instance) []string {
		if in.SpotInstanceRequestID == "" {
			return nil
		}
		return []string{in.SpotInstanceRequestID}
	},
	"tag-key": func(in *instance) []string {
		out := make([]string, 0, len(in.Tags))
		for k := range in.Tags {
			out = append(out, k)
		}
		return out
	},
	"tag-value": func(in *instance) []string {
		out := make([]string, 0, len(in.Tags))
		for _, v := range in.Tags {
			out = append(out, v)
		}
		return out
	},
}

// statusFields are the DescribeInstanceStatus filters the emulator knows.
var statusFields = map[string]field{
	"availability-zone":      instanceFields["availability-zone"],
	"instance-state-name":    instanceFields["instance-state-name"],
	"instance-state-code":    instanceFields["instance-state-code"],
	"instance-status.status": func(in *instance) []string { return []string{statusSummary(in)} },
	"system-status.status":   func(in *instance) []string { return []string{statusSummary(in)} },
}

// compiledFilter is a filter bound to the field it reads.
type compiledFilter struct {
	get    field
	values []string
}

// compileFilters resolves filter names against fields; tag:KEY is allowed
// when tags is true. An unknown name is an InvalidParameterValue, as in EC2.
func compileFilters(fs []filter, fields map[string]field, tags bool) ([]compiledFilter, *apiError) {
	out := make([]compiledFilter, 0, len(fs))
	for _, f := range fs {
		get, ok := fields[f.name]
		if key, isTag := strings.CutPrefix(f.name, "tag:"); isTag && tags && key != "" {
			get, ok = func(in *instance) []string {
				if v, has := in.Tags[key]; has {
					return []string{v}
				}
				return nil
			}, true
		}
		if !ok {
			return nil, &apiError{http.StatusBadRequest, "InvalidParameterValue",
				fmt.Sprintf("The filter '%s' is invalid", f.name)}
		}
		out = append(out, compiledFilter{get: get, values: f.values})
	}
	return out, nil
}

// matchAll reports whether in passes every filter: a filter passes when any
// of the instance's values matches any of the filter's values.
func matchAll(in *instance, fs []compiledFilter) bool {
	for _, f := range fs {
		if !matchAny(f.get(in), f.values) {
			return false
		}
	}
	return true
}

func matchAny(have, patterns []string) bool {
	for _, h := range have {
		for _, p := range patterns {
			if glob(p, h) {
				return true
			}
		}
	}
	return false
}

// glob matches s against an EC2 filter value, where * is any run of
// characters and ? is any one character.
func glob(pattern, s string) bool {
	p, str := []rune(pattern), []rune(s)
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(str) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == str[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
