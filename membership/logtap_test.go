package membership

import (
	"bytes"
	"log"
	"testing"
)

func TestLogTap(t *testing.T) {
	var out bytes.Buffer
	var got []string
	l := log.New(&logTap{next: &out, onSuspect: func(n string) { got = append(got, n) }}, "", 0)
	// The exact call in memberlist v0.7.0's probeNode.
	l.Printf("[INFO] memberlist: Suspect %s has failed, no acks received", "i-0abc")
	l.Printf("[DEBUG] memberlist: Failed UDP ping: %s (timeout reached)", "i-0def")
	l.Printf("[INFO] memberlist: Marking %s as failed, suspect timeout reached (%d peer confirmations)", "i-0abc", 0)
	l.Printf("[INFO] memberlist: Suspect  has failed, no acks received")
	if len(got) != 1 || got[0] != "i-0abc" {
		t.Errorf("suspects = %q, want [i-0abc]", got)
	}
	if n := bytes.Count(out.Bytes(), []byte("\n")); n != 4 {
		t.Errorf("passed on %d lines, want all 4", n)
	}
}
