package membership

import (
	"testing"

	"go.uber.org/goleak"
)

// memberlist's listener and handler goroutines end shortly after Shutdown
// returns; goleak retries (about two seconds) until they are gone.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
