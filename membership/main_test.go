package membership

import (
	"testing"

	"github.com/farmhand/farmhand/testbed/testutil"
)

// memberlist's probe, listener and handler goroutines end shortly after
// Shutdown returns; VerifyTestMain polls until they are gone.
func TestMain(m *testing.M) {
	testutil.VerifyTestMain(m)
}
