// Command farmhand-testbed runs a whole EC2 farm on this machine: S3, EC2
// and IMDS emulators, and every instance as a real farmhand agent process.
// It is a separate binary so that the agent never links the emulators.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit codes.
const (
	exitFail  = 1
	exitUsage = 2
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
	fs := flag.NewFlagSet("farmhand-testbed "+verb, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

// parseFlags parses args into fs: (0, true) on success, (0, false) for -h,
// (2, false) for a bad flag.
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return exitUsage, false
	}
	return 0, true
}

// errorf prints a one-line error prefixed with what failed.
func errorf(env *cliEnv, what, format string, args ...any) {
	fmt.Fprintf(env.Stderr, "%s: %s\n", what, strings.TrimRight(fmt.Sprintf(format, args...), "\n"))
}
