package membership

import (
	"bytes"
	"errors"
	"maps"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/memberlist"
)

func TestMetaRoundTrip(t *testing.T) {
	for _, tags := range []map[string]string{
		nil,
		{},
		{"role": "worker"},
		{"role": "namenode", "az": "eu-west-1a", "rack": "", "ünïcode": "välue"},
	} {
		b, err := EncodeTags(tags)
		if err != nil {
			t.Fatalf("EncodeTags(%v): %v", tags, err)
		}
		got, err := DecodeTags(b)
		if err != nil || !maps.Equal(got, tags) {
			t.Errorf("DecodeTags(EncodeTags(%v)) = %v, %v", tags, got, err)
		}
	}
}

func TestMetaIsCanonicalAndCompact(t *testing.T) {
	a, _ := EncodeTags(map[string]string{"b": "2", "a": "1"})
	b, _ := EncodeTags(map[string]string{"a": "1", "b": "2"})
	want := []byte{metaVersion, 0, 1, 'a', 1, '1', 1, 'b', 1, '2'}
	if !bytes.Equal(a, want) || !bytes.Equal(b, want) {
		t.Errorf("encodings %v and %v, want %v", a, b, want)
	}
}

func TestMetaFlags(t *testing.T) {
	b, err := encodeMeta(map[string]string{"role": "x"}, metaLeaving)
	if err != nil {
		t.Fatal(err)
	}
	tags, flags, err := decodeMeta(b)
	if err != nil || flags != metaLeaving || tags["role"] != "x" {
		t.Errorf("decodeMeta = %v, %#x, %v", tags, flags, err)
	}
	// Unknown flag bits from a newer agent are ignored, not an error.
	b[1] |= 0x80
	if _, err := DecodeTags(b); err != nil {
		t.Errorf("unknown flag bit: %v", err)
	}
}

func TestMetaSizeLimit(t *testing.T) {
	// Header 2 + key "k" (1+1) + value length prefix (2 for >127) = 6 bytes.
	fits := map[string]string{"k": strings.Repeat("v", memberlist.MetaMaxSize-6)}
	b, err := EncodeTags(fits)
	if err != nil || len(b) != memberlist.MetaMaxSize {
		t.Fatalf("exactly %d bytes: len %d, %v", memberlist.MetaMaxSize, len(b), err)
	}
	over := map[string]string{"k": strings.Repeat("v", memberlist.MetaMaxSize-5)}
	_, err = EncodeTags(over)
	if !errors.Is(err, ErrMetaTooLarge) {
		t.Fatalf("one byte over: %v, want ErrMetaTooLarge", err)
	}
	for _, want := range []string{"513 bytes", "512 bytes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	many := map[string]string{}
	for i := range 100 {
		many["tag"+strconv.Itoa(i)] = "value"
	}
	if _, err := EncodeTags(many); !errors.Is(err, ErrMetaTooLarge) {
		t.Errorf("100 tags: %v, want ErrMetaTooLarge", err)
	}
	if _, err := EncodeTags(map[string]string{"": "v"}); err == nil || !strings.Contains(err.Error(), "empty key") {
		t.Errorf("empty key: %v", err)
	}
}

func TestDecodeTagsRejectsGarbage(t *testing.T) {
	for name, b := range map[string][]byte{
		"unknown version":  {9, 0},
		"header only half": {metaVersion},
		"bad varint":       {metaVersion, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"key past end":     {metaVersion, 0, 5, 'a'},
		"missing value":    {metaVersion, 0, 1, 'a'},
		"value past end":   {metaVersion, 0, 1, 'a', 3, 'x'},
		"huge length":      {metaVersion, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
		"empty key":        {metaVersion, 0, 0, 1, 'v'},
		"duplicate key":    {metaVersion, 0, 1, 'a', 0, 1, 'a', 0},
		"unsorted keys":    {metaVersion, 0, 1, 'b', 0, 1, 'a', 0},
	} {
		if tags, err := DecodeTags(b); err == nil {
			t.Errorf("%s: DecodeTags(%v) = %v, want an error", name, b, tags)
		}
	}
}

// FuzzDecodeTags checks that DecodeTags never panics and that whatever it
// accepts re-encodes to the same tags.
func FuzzDecodeTags(f *testing.F) {
	seeds := []map[string]string{nil, {"role": "worker"}, {"a": "1", "b": "", "zone": "eu-west-1c"}}
	for _, s := range seeds {
		b, err := EncodeTags(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{metaVersion})
	f.Add([]byte{metaVersion, metaLeaving, 1, 'a', 0x80})
	f.Add([]byte{metaVersion, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte("{\"role\":\"json\"}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tags, err := DecodeTags(b)
		if err != nil {
			return
		}
		again, err := EncodeTags(tags)
		if err != nil {
			if len(b) <= memberlist.MetaMaxSize {
				t.Fatalf("decoded %v from %d bytes but cannot re-encode: %v", tags, len(b), err)
			}
			return
		}
		back, err := DecodeTags(again)
		if err != nil || !maps.Equal(back, tags) {
			t.Fatalf("round trip of %v gave %v, %v", tags, back, err)
		}
	})
}
