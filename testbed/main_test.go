package testbed

import (
	"testing"

	"github.com/farmhand/farmhand/testbed/testutil"
)

func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }
