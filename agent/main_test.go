package agent

import (
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/farmhand/farmhand/testbed/testutil"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.CleanupBinary()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			os.Stderr.WriteString("goroutine leak: " + err.Error() + "\n")
			code = 1
		}
	}
	os.Exit(code)
}
