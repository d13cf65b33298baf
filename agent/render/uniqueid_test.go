package render

import (
	"crypto/sha256"
	"fmt"
	"testing"
)

func TestTomcatUniqueID(t *testing.T) {
	id := "i-0123456789abcdef0"
	got := TomcatUniqueID(id)
	sum := sha256.Sum256([]byte(id))
	want := "{"
	for i := 0; i < 16; i++ {
		v := int(sum[i])
		if v > 127 {
			v -= 256
		}
		if i > 0 {
			want += ","
		}
		want += fmt.Sprint(v)
	}
	want += "}"
	if got != want {
		t.Errorf("TomcatUniqueID = %s, want %s", got, want)
	}
	if b := parseTomcatUniqueID(t, got); len(b) != 16 {
		t.Errorf("%d bytes, want 16", len(b))
	}
	if TomcatUniqueID("i-other") == got {
		t.Error("two instance ids gave the same uniqueId")
	}
}
