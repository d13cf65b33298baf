package localapi

import (
	"net/url"
	"reflect"
	"testing"
)

// FuzzParseMemberFilter feeds arbitrary query strings to the members
// filter parser: no panic, and an accepted filter survives a round trip
// through its own Query encoding unchanged (what the client sends is what
// the server reads).
func FuzzParseMemberFilter(f *testing.F) {
	for _, s := range []string{"", "status=alive", "role=worker&tag=az=us-east-1a", "tag=k=v&tag=k2=", "tag==", "tag=%00",
		"status=zombie", "bogus=1", "status=alive&status=dead", "tag=a=b=c", ";;", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		flt, err := ParseMemberFilter(q)
		if err != nil {
			if err.Error() == "" {
				t.Error("empty error message")
			}
			return
		}
		again, err := ParseMemberFilter(flt.Query())
		if err != nil {
			t.Fatalf("filter %+v does not re-parse from its own query %q: %v", flt, flt.Query().Encode(), err)
		}
		if len(flt.Tags) == 0 {
			flt.Tags = nil
		}
		if len(again.Tags) == 0 {
			again.Tags = nil
		}
		if !reflect.DeepEqual(flt, again) {
			t.Fatalf("round trip changed the filter: %+v -> %+v", flt, again)
		}
	})
}
