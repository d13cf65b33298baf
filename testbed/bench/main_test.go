package main

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/farmhand/farmhand/testbed/testutil"
	"go.uber.org/goleak"
)

// TestMain checks for leaked goroutines after the tests. memberlist's
// probe goroutine outlives Shutdown by up to one probe interval plus its
// TCP fallback (it waits on its own timers), so leaks are polled for that
// long before they count.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		err := testutil.Poll(15*time.Second, 100*time.Millisecond, func(r *testutil.R) {
			if err := goleak.Find(); err != nil {
				r.Errorf("%v", err)
			}
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
