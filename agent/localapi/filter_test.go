package localapi_test

import (
	"net/url"
	"reflect"
	"testing"

	"github.com/farmhand/farmhand/agent/localapi"
	"github.com/farmhand/farmhand/membership"
)

func TestFilterQueryRoundTrip(t *testing.T) {
	for _, f := range []localapi.MemberFilter{
		{},
		{Status: "alive"},
		{Role: "worker", Tags: map[string]string{"az": "a", "rack": "r=1", "empty": ""}},
		{Status: "dead", Role: "master", Tags: map[string]string{"x": "y"}},
	} {
		got, err := localapi.ParseMemberFilter(f.Query())
		if err != nil {
			t.Errorf("ParseMemberFilter(%v.Query()): %v", f, err)
			continue
		}
		if !reflect.DeepEqual(got, f) {
			t.Errorf("round trip of %+v gave %+v", f, got)
		}
	}
}

func TestParseTag(t *testing.T) {
	for in, want := range map[string][2]string{"a=b": {"a", "b"}, "a=": {"a", ""}, "a=b=c": {"a", "b=c"}} {
		k, v, err := localapi.ParseTag(in)
		if err != nil || k != want[0] || v != want[1] {
			t.Errorf("ParseTag(%q) = %q, %q, %v; want %q, %q", in, k, v, err, want[0], want[1])
		}
	}
	for _, bad := range []string{"", "a", "=b"} {
		if _, _, err := localapi.ParseTag(bad); err == nil {
			t.Errorf("ParseTag(%q) succeeded", bad)
		}
	}
}

func TestParseStatus(t *testing.T) {
	for _, s := range []membership.Status{membership.StatusAlive, membership.StatusDraining, membership.StatusSuspect, membership.StatusDead, membership.StatusLeft} {
		if got, err := localapi.ParseStatus(string(s)); err != nil || got != s {
			t.Errorf("ParseStatus(%q) = %q, %v", s, got, err)
		}
	}
	if _, err := localapi.ParseStatus("Alive"); err == nil {
		t.Error("ParseStatus(Alive) succeeded; statuses are lower case")
	}
}

func TestParseMemberFilterRejectsUnknownParameter(t *testing.T) {
	if _, err := localapi.ParseMemberFilter(url.Values{"zone": {"a"}}); err == nil {
		t.Error("unknown parameter accepted")
	}
}

func TestFilterMatchAndString(t *testing.T) {
	m := membership.Member{Name: "n", Status: membership.StatusAlive, Tags: map[string]string{"role": "worker", "az": "a"}}
	for _, tc := range []struct {
		f    localapi.MemberFilter
		want bool
	}{
		{localapi.MemberFilter{}, true},
		{localapi.MemberFilter{Status: "alive", Role: "worker"}, true},
		{localapi.MemberFilter{Status: "suspect"}, false},
		{localapi.MemberFilter{Role: "master"}, false},
		{localapi.MemberFilter{Tags: map[string]string{"az": "a"}}, true},
		{localapi.MemberFilter{Tags: map[string]string{"az": "b"}}, false},
		{localapi.MemberFilter{Tags: map[string]string{"rack": ""}}, false},
	} {
		if got := tc.f.Match(m); got != tc.want {
			t.Errorf("%+v.Match = %v, want %v", tc.f, got, tc.want)
		}
	}
	f := localapi.MemberFilter{Status: "alive", Role: "worker", Tags: map[string]string{"az": "a"}}
	if got, want := f.String(), "status=alive, role=worker, tag az=a"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
