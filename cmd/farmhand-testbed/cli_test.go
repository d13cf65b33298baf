package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/farmhand/farmhand/testbed/testutil"
)

func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }

// `farmhand-testbed -h` says where an external S3's credentials come from.
func TestHelpNamesTheCredentialVariables(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), &cliEnv{Stdout: &stdout, Stderr: &stderr}, []string{"-h"}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, v := range []string{"FARMHAND_TESTBED_AWS_ACCESS_KEY_ID", "FARMHAND_TESTBED_AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		if !strings.Contains(stderr.String(), v) {
			t.Errorf("-h does not mention %s:\n%s", v, stderr.String())
		}
	}
}
