package testutil

import (
	"io"
	"strings"
	"sync/atomic"
	"testing"
)

// LogWriter sends what is written to t.Log, so logs of code under test
// show only when the test fails, and drops what stray goroutines write
// after the test has ended (t.Log would panic then).
func LogWriter(t testing.TB) io.Writer {
	w := &logWriter{t: t}
	t.Cleanup(func() { w.done.Store(true) })
	return w
}

type logWriter struct {
	t    testing.TB
	done atomic.Bool
}

func (w *logWriter) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}
