package membership

import (
	"bytes"
	"io"
)

// memberlist v0.7.0 logs exactly this line in probeNode right before it
// marks a member suspect after a failed probe. It is the only place the
// suspicion of a member becomes visible outside memberlist: there is no
// delegate callback for it, and the Node values memberlist hands out never
// carry the node state. The tap is pinned to memberlist v0.7.0 and covered
// by TestShutdownWithoutLeaveIsDeadThenReaped.
var (
	suspectPrefix = []byte("memberlist: Suspect ")
	suspectSuffix = []byte(" has failed, no acks received")
)

// logTap passes memberlist's log lines on to next (the hclog adapter) and
// reports the members this node's own probes suspect.
type logTap struct {
	next      io.Writer
	onSuspect func(name string)
}

func (t *logTap) Write(p []byte) (int, error) {
	if name, ok := parseSuspectLine(p); ok {
		t.onSuspect(name)
	}
	return t.next.Write(p)
}

// parseSuspectLine returns the member name of a memberlist "Suspect ... has
// failed" log line.
func parseSuspectLine(line []byte) (string, bool) {
	i := bytes.Index(line, suspectPrefix)
	if i < 0 {
		return "", false
	}
	rest := line[i+len(suspectPrefix):]
	j := bytes.Index(rest, suspectSuffix)
	if j <= 0 {
		return "", false
	}
	return string(rest[:j]), true
}
