package testutil

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// leakDeadline bounds how long VerifyTestMain waits for goroutines to end.
// memberlist's in-flight probe of a peer ends only when its ack timer fires,
// and Lifeguard stretches that timer up to 8x the probe interval when the
// node's health is degraded, so a probe can outlive Shutdown by seconds.
const leakDeadline = 15 * time.Second

// VerifyTestMain runs the tests, then fails the package if goroutines are
// still running after every test has ended, polling until leakDeadline so
// goroutines that are already on their way out are not reported.
func VerifyTestMain(m *testing.M, opts ...goleak.Option) {
	code := m.Run()
	CleanupBinary()
	if code == 0 {
		deadline := time.Now().Add(leakDeadline)
		for {
			err := goleak.Find(opts...)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				fmt.Fprintf(os.Stderr, "goroutine leak after %s: %v\n", leakDeadline, err)
				code = 1
				break
			}
		}
	}
	os.Exit(code)
}
