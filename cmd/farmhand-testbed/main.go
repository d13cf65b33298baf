// Command farmhand-testbed runs a whole EC2 farm on this machine: S3, EC2
// and IMDS emulators, and every instance as a real farmhand agent process.
// It is a separate binary so that the agent never links the emulators.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/farmhand/farmhand/cmd/internal/cliflag"
)

// Exit codes.
const (
	exitFail  = 1
	exitUsage = cliflag.ExitUsage
)

// cliEnv carries the process streams so the verbs are testable in-process.
type cliEnv struct {
	Stdout io.Writer
	Stderr io.Writer
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &cliEnv{Stdout: os.Stdout, Stderr: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

// newFlagSet returns a FlagSet for verb that reports errors to env.Stderr
// and does not exit.
func newFlagSet(verb string, env *cliEnv) *flag.FlagSet {
	return cliflag.New("farmhand-testbed "+verb, env.Stderr)
}

// parseFlags parses args into fs: (0, true) on success, (0, false) for -h,
// (2, false) for a bad flag.
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) { return cliflag.Parse(fs, args) }

// errorf prints a one-line error prefixed with what failed.
func errorf(env *cliEnv, what, format string, args ...any) {
	fmt.Fprintf(env.Stderr, "%s: %s\n", what, strings.TrimRight(fmt.Sprintf(format, args...), "\n"))
}
